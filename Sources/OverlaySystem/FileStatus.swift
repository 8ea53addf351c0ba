internal import CLiburing
internal import Glibc


/// The type of a file, as `S_IFMT` encodes it.
public enum FileType: String, Sendable, Codable, Hashable {
    case regular = "f", directory = "d", symlink = "l", characterDevice = "c",
         blockDevice = "b", fifo = "p", socket = "s"

    /// The `S_IF*` values are spelled out: Glibc and <linux/stat.h> both define them, ambiguously for Swift.
    public init?(mode: UInt32) {
        switch mode & 0o170000 {
        case 0o100000: self = .regular
        case 0o040000: self = .directory
        case 0o120000: self = .symlink
        case 0o020000: self = .characterDevice
        case 0o060000: self = .blockDevice
        case 0o010000: self = .fifo
        case 0o140000: self = .socket
        default: return nil
        }
    }

    /// The `S_IF*` bits, for `mknodat(2)`.
    public var modeBits: UInt32 {
        switch self {
        case .regular: 0o100000
        case .directory: 0o040000
        case .symlink: 0o120000
        case .characterDevice: 0o020000
        case .blockDevice: 0o060000
        case .fifo: 0o010000
        case .socket: 0o140000
        }
    }
}

/// What `statx(2)` reports about a file.
public struct FileStatus: Sendable, Hashable {
    public var type: FileType
    /// Permission bits only (`mode & 07777`).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    /// Allocated 512-byte blocks.
    public var blocks: Int64
    public var linkCount: UInt32
    public var inode: UInt64
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    /// For device files, the device they stand for.
    public var rdevMajor: UInt32
    public var rdevMinor: UInt32
    public var accessTime: Timestamp
    public var modificationTime: Timestamp

    /// Bytes actually allocated on disk.
    public var allocatedBytes: Int64 { blocks * 512 }

    /// A 0/0 character device: an overlay whiteout.
    public var isWhiteoutDevice: Bool { type == .characterDevice && rdevMajor == 0 && rdevMinor == 0 }
}

/// Seconds and nanoseconds since the epoch.
public struct Timestamp: Sendable, Hashable, Codable {
    public var seconds: Int64
    public var nanoseconds: UInt32
    public init(seconds: Int64, nanoseconds: UInt32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

extension FileStatus {
    init(_ s: statx) {
        self.type = FileType(mode: UInt32(s.stx_mode)) ?? .regular
        self.permissions = UInt32(s.stx_mode) & 0o7777
        self.uid = s.stx_uid
        self.gid = s.stx_gid
        self.size = Int64(s.stx_size)
        self.blocks = Int64(s.stx_blocks)
        self.linkCount = s.stx_nlink
        self.inode = s.stx_ino
        self.deviceMajor = s.stx_dev_major
        self.deviceMinor = s.stx_dev_minor
        self.rdevMajor = s.stx_rdev_major
        self.rdevMinor = s.stx_rdev_minor
        self.accessTime = Timestamp(seconds: s.stx_atime.tv_sec, nanoseconds: s.stx_atime.tv_nsec)
        self.modificationTime = Timestamp(seconds: s.stx_mtime.tv_sec, nanoseconds: s.stx_mtime.tv_nsec)
    }
}

extension FileDescriptor {
    /// `statx(2)` of `path` relative to this directory; `followSymlinks: false` is `AT_SYMLINK_NOFOLLOW`.
    public func status(of path: String, followSymlinks: Bool = false) throws(SystemError) -> FileStatus {
        var buffer = statx()
        let flags = followSymlinks ? 0 : AT_SYMLINK_NOFOLLOW
        _ = try retryingEINTR("statx", path: path) {
            cl_statx(rawValue, path, flags, UInt32(STATX_BASIC_STATS), &buffer)
        }
        return FileStatus(buffer)
    }

    /// `statx(2)` of the open file itself (`AT_EMPTY_PATH`).
    public func status() throws(SystemError) -> FileStatus {
        var buffer = statx()
        _ = try retryingEINTR("statx") {
            cl_statx(rawValue, "", CInt(CL_AT_EMPTY_PATH), UInt32(STATX_BASIC_STATS), &buffer)
        }
        return FileStatus(buffer)
    }

    /// The raw `statx(2)` call with no result decoding: what the lookup probe times.
    public func statxOnly(_ path: String) -> Errno? {
        var buffer = statx()
        return path.withCString { cPath in
            cl_statx(rawValue, cPath, AT_SYMLINK_NOFOLLOW, UInt32(STATX_BASIC_STATS), &buffer) == 0
                ? nil : Errno(rawValue: systemErrno())
        }
    }
}
