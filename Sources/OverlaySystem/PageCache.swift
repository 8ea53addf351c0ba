internal import CLiburing
internal import Glibc


/// The kernel's caches: `sync(2)` and `/proc/sys/vm/drop_caches`.
public enum PageCache {
    public static let dropCachesPath = "/proc/sys/vm/drop_caches"

    /// `sync(2)`, then writes `3` to `/proc/sys/vm/drop_caches` (page cache, dentries and inodes).
    ///
    /// Overlay dentries pin the lower dentries they were looked up through, so one drop leaves the
    /// lower dentries cached; `passes: 2` drops the overlay's first, then the ones they released.
    public static func drop(passes: Int = 2) throws(SystemError) {
        Glibc.sync()
        for _ in 0..<passes {
            let fd = try FileDescriptor.open(dropCachesPath, .writeOnly)
            defer { fd.closeIgnoringErrors() }
            let value: [UInt8] = Array("3\n".utf8)
            _ = try retryingEINTR("write", path: dropCachesPath) { Glibc.write(fd.rawValue, value, value.count) }
        }
    }

    /// Whether this process may write `drop_caches` (root, and /proc/sys writable).
    public static var canDrop: Bool { access(dropCachesPath, W_OK) == 0 }

    /// `sync(2)`.
    public static func sync() { Glibc.sync() }
}
