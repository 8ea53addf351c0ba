/// The overlay options the reference overlay honours, named as the kernel's mount options are.
public struct ReferenceOverlayOptions: Sendable, Hashable, CustomStringConvertible {
    /// `metacopy=on`: chmod, chown, utimes, xattr changes, link and rename copy up only the inode;
    /// the data follows on the first open for write or truncate.
    public var metacopy: Bool
    /// `redirect_dir=on`: a directory that is not purely upper may be renamed; the move is
    /// recorded in `trusted.overlay.redirect` instead of failing with `EXDEV`.
    public var redirectDir: Bool
    /// `volatile`: copy-up skips its fsync.
    public var isVolatile: Bool
    /// The ``CopyEngineKind`` identifier that copies data at copy-up.
    public var copyEngine: String

    public init(metacopy: Bool = false, redirectDir: Bool = false, isVolatile: Bool = false,
                copyEngine: String = CopyEngineKind.ioURing.identifier) {
        self.metacopy = metacopy
        // metacopy=on turns redirect_dir on: a renamed metacopy file must find its lower data
        // (Documentation/filesystems/overlayfs.rst, "Metadata only copy up").
        self.redirectDir = redirectDir || metacopy
        self.isVolatile = isVolatile
        self.copyEngine = copyEngine
    }

    /// The options a kernel mount with `options` would have.
    public init(mountOptions options: OverlayMountOptions, copyEngine: String = CopyEngineKind.ioURing.identifier) {
        self.init(metacopy: options.metacopy, redirectDir: options.redirectDir,
                  isVolatile: options.isVolatile, copyEngine: copyEngine)
    }

    /// `metacopy=off,redirect_dir=off,copy_engine=io_uring`, with `volatile` when set.
    public var description: String {
        var parts = ["metacopy=\(metacopy ? "on" : "off")", "redirect_dir=\(redirectDir ? "on" : "off")"]
        if isVolatile { parts.append("volatile") }
        parts.append("copy_engine=\(copyEngine)")
        return parts.joined(separator: ",")
    }
}
