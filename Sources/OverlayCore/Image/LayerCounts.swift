/// What one layer held, counted while it was applied; `image.json` keeps these per layer.
public struct LayerCounts: Codable, Sendable, Equatable {
    /// Tar members, metadata members (PAX, GNU long names) not included.
    public var entries = 0
    /// Regular files (hard links not included) and their bytes.
    public var files = 0
    public var fileBytes: Int64 = 0
    public var directories = 0
    public var symlinks = 0
    public var hardLinks = 0
    /// Character and block devices (whiteouts not included).
    public var devices = 0
    public var fifos = 0
    /// `.wh.NAME` members, each now a 0/0 character device.
    public var whiteouts = 0
    /// `.wh..wh..opq` members, each now an opaque directory.
    public var opaqueDirectories = 0
    /// Names that pointed above the layer root (`..`) or were absolute, applied beneath the root
    /// as containerd does (`filepath.Clean("/" + name)`), and so written inside the layer.
    public var containedNames = 0
    /// Extended attributes not applied: `trusted.*` and `system.*`, `user.overlay.*` (a layer
    /// must not set overlay's own attributes), `security.selinux` (host policy, which umoci also
    /// drops), and attributes the filesystem refused (`ENOTSUP`, `user.*` on a symlink or device).
    public var ignoredXattrs = 0
    /// With `--rootless`: owners that could not be set, and devices that could not be made.
    public var ownersNotApplied = 0
    public var devicesSkipped = 0

    public init() {}
}
