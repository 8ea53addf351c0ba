import OverlaySystem

/// What `--cache cold` does before each sample, and what it cannot undo.
///
/// `sync(2)`, then `drop_caches=3` twice: the first pass frees the overlay dentries, which pin
/// the lower dentries they were looked up through; the second frees those. After it, the page
/// cache (directory blocks, inode tables, file data) and every unpinned dentry and inode are gone.
/// What stays, as it does for any process that drops caches:
/// - what the mount pins: the merged root's dentry (held open as the view's root) and each lower
///   layer's root directory dentry and inode (overlay holds them for the mount's life);
/// - every cache below the block device. On a VM, the host caches the virtual disk: measured
///   here, a 4 KiB `O_DIRECT` read of a block the guest had not read for a while took 3.6–24 ms,
///   the same read again 0.1 ms. Sampling one stack cold again and again reads the same blocks
///   from the host's cache after the first time, so cold figures on a VM are guest-cold, not
///   device-cold; a one-off `stat` of blocks nobody read recently is slower by that much.
/// A view with caches of its own in this process (the reference overlay's lookup index, upper
/// verdicts and open directories) forgets them first (``Trial/view``); fuse-overlayfs's node
/// cache lives in its daemon and stays.
/// Each cold lookup records `readBytes` (this process's reads from storage, `/proc/self/io`),
/// which is the same for the suite and for an independent timing on the same stack.
enum ColdCache {
    /// Recorded as `parameters.coldMethod` with every cold sample.
    static let method = "sync, drop_caches=3 x2; keeps mount-pinned dentries and caches below the block device"

    static var isAvailable: Bool { PageCache.canDrop }

    static func prepare() throws {
        try PageCache.drop(passes: 2)
    }
}
