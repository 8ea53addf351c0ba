/// A filesystem the overlay's layers can live on: the work root's own (`root`), or one that
/// OverlayBench makes for the run on a loop device (`ext4`, `xfs`, `xfs-noreflink`, `btrfs`) or
/// in memory (`tmpfs`). The raw value is the stable name the CLI, suite files and results use.
public enum BackingFilesystemKind: String, CaseIterable, Sendable, Codable {
    case root
    case ext4
    case xfs
    case xfsNoReflink = "xfs-noreflink"
    case btrfs
    case tmpfs

    /// The size of a made filesystem unless `--fs-size` says otherwise. The image is sparse, so
    /// only the blocks written cost disk.
    public static let defaultSize: Int64 = 16 << 30

    /// The type `mount(2)` is given and `/proc/self/mountinfo` shows.
    public var fileSystemType: String? {
        switch self {
        case .root: nil
        case .ext4: "ext4"
        case .xfs, .xfsNoReflink: "xfs"
        case .btrfs: "btrfs"
        case .tmpfs: "tmpfs"
        }
    }

    /// Whether the filesystem sits on a loop device over an image file.
    public var usesLoopDevice: Bool {
        switch self {
        case .ext4, .xfs, .xfsNoReflink, .btrfs: true
        case .root, .tmpfs: false
        }
    }

    /// The mkfs program, by name (looked up in the sbin directories).
    public var mkfsProgram: String? {
        guard usesLoopDevice, let type = fileSystemType else { return nil }
        return "mkfs.\(type)"
    }

    /// The mkfs arguments before the device, recorded verbatim in the result's environment.
    ///
    /// - ext4 keeps its journal (as on a Docker host) but initialises the inode tables and journal
    ///   at mkfs time: lazy init would otherwise run `ext4lazyinit` in the background during the
    ///   first minutes of the run and disturb the timings (mke2fs.conf(5), `lazy_itable_init`).
    /// - xfs states `reflink` explicitly, so the comparison does not depend on the xfsprogs default.
    public var mkfsArguments: [String] {
        switch self {
        case .root, .tmpfs: []
        case .ext4: ["-F", "-q", "-E", "lazy_itable_init=0,lazy_journal_init=0"]
        case .xfs: ["-f", "-q", "-m", "reflink=1"]
        case .xfsNoReflink: ["-f", "-q", "-m", "reflink=0"]
        case .btrfs: ["-f", "-q"]
        }
    }

    /// Whether the kernel's copy-up can clone instead of copying data (`vfs_clone_file_range`).
    public var clonesOnCopyUp: Bool { self == .xfs || self == .btrfs }

    /// Parses `root,ext4,xfs`; duplicates are dropped, the order kept.
    public static func parseList(_ text: String) throws(BackingFilesystemError) -> [BackingFilesystemKind] {
        var kinds: [BackingFilesystemKind] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            let name = item.trimmingCharacters(in: .whitespaces)
            guard let kind = BackingFilesystemKind(rawValue: name) else {
                throw .unknownKind(name)
            }
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    public static var allNames: [String] { allCases.map(\.rawValue) }
}

public enum BackingFilesystemError: Error, CustomStringConvertible, Sendable {
    case unknownKind(String)
    /// A tool (mkfs, losetup) is missing, or the kernel lacks the filesystem.
    case unavailable(String, String)
    /// A tool ran and failed: the command and its output.
    case commandFailed(String, String)

    public var description: String {
        switch self {
        case .unknownKind(let name):
            "unknown filesystem \"\(name)\" (known: \(BackingFilesystemKind.allNames.joined(separator: ", ")))"
        case .unavailable(let kind, let why): "filesystem \(kind) is unavailable: \(why)"
        case .commandFailed(let command, let output): "\(command) failed: \(output)"
        }
    }
}
