import OverlaySystem

/// One member of a layer tar, with its PAX and GNU extensions already folded in.
struct TarEntry: Sendable {
    enum Kind: Sendable, Equatable {
        case regular, hardLink, symlink, characterDevice, blockDevice, directory, fifo
    }

    var name: String
    var kind: Kind
    /// Permission bits, set-user-ID, set-group-ID and sticky included (`mode & 07777`).
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    /// Bytes of data that follow the header (0 for every kind but ``Kind/regular``).
    var size: Int64
    var modificationTime: Timestamp
    var accessTime: Timestamp?
    /// A symlink's target, or the earlier member a hard link names.
    var linkName: String
    var deviceMajor: UInt32
    var deviceMinor: UInt32
    /// `SCHILY.xattr.*` PAX records, in the order they came.
    var xattrs: [(name: String, value: [UInt8])]
}
