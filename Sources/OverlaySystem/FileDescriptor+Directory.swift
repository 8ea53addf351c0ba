internal import CLiburing
internal import Glibc


/// A name in a directory, as `readdir(3)` reports it.
public struct DirectoryEntry: Sendable, Hashable {
    public var name: String
    /// nil when the filesystem does not fill `d_type` (`DT_UNKNOWN`).
    public var type: FileType?
}

extension FileDescriptor {
    /// `mkdirat(2)`.
    public func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws(SystemError) {
        _ = try retryingEINTR("mkdir", path: path) { mkdirat(rawValue, path, mode_t(mode)) }
    }

    /// `mknodat(2)`: a device, fifo or socket node. A whiteout is a character device 0/0.
    public func makeNode(_ path: String, type: FileType, permissions: UInt32, major: UInt32 = 0, minor: UInt32 = 0) throws(SystemError) {
        _ = try retryingEINTR("mknod", path: path) {
            mknodat(rawValue, path, mode_t(type.modeBits | permissions), cl_makedev(major, minor))
        }
    }

    /// `unlinkat(2)`; `directory: true` is `AT_REMOVEDIR`.
    public func unlink(_ path: String, directory: Bool = false) throws(SystemError) {
        _ = try retryingEINTR(directory ? "rmdir" : "unlink", path: path) {
            unlinkat(rawValue, path, directory ? AT_REMOVEDIR : 0)
        }
    }

    /// `symlinkat(2)`: creates `path` pointing at `target`.
    public func makeSymlink(_ path: String, target: String) throws(SystemError) {
        _ = try retryingEINTR("symlink", path: path) { symlinkat(target, rawValue, path) }
    }

    /// `readlinkat(2)`.
    public func readSymlink(_ path: String) throws(SystemError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try retryingEINTR("readlink", path: path) { readlinkat(rawValue, path, &buffer, buffer.count - 1) }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `linkat(2)` from `path` here to `newPath` in `newDirectory`; `flags` may be `AT_EMPTY_PATH`.
    public func link(_ path: String, to newPath: String, in newDirectory: FileDescriptor, emptyPath: Bool = false) throws(SystemError) {
        _ = try retryingEINTR("link", path: newPath) {
            linkat(rawValue, path, newDirectory.rawValue, newPath, emptyPath ? CInt(CL_AT_EMPTY_PATH) : 0)
        }
    }

    /// `renameat2(2)`; `noReplace` is `RENAME_NOREPLACE`.
    public func rename(_ path: String, to newPath: String, in newDirectory: FileDescriptor, noReplace: Bool = false) throws(SystemError) {
        _ = try retryingEINTR("rename", path: path) {
            cl_renameat2(rawValue, path, newDirectory.rawValue, newPath, noReplace ? UInt32(CL_RENAME_NOREPLACE) : 0)
        }
    }

    /// `fchmodat(2)`.
    public func changeMode(_ path: String, permissions: UInt32) throws(SystemError) {
        _ = try retryingEINTR("chmod", path: path) { fchmodat(rawValue, path, mode_t(permissions), 0) }
    }

    /// `fchownat(2)` with `AT_SYMLINK_NOFOLLOW`.
    public func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        _ = try retryingEINTR("chown", path: path) { fchownat(rawValue, path, uid, gid, AT_SYMLINK_NOFOLLOW) }
    }

    /// `utimensat(2)` with `AT_SYMLINK_NOFOLLOW`.
    public func setTimes(_ path: String, access: Timestamp, modification: Timestamp) throws(SystemError) {
        var times = [
            timespec(tv_sec: Int(access.seconds), tv_nsec: Int(access.nanoseconds)),
            timespec(tv_sec: Int(modification.seconds), tv_nsec: Int(modification.nanoseconds)),
        ]
        _ = try retryingEINTR("utimensat", path: path) { utimensat(rawValue, path, &times, AT_SYMLINK_NOFOLLOW) }
    }

    /// `fchmod(2)` of the open file.
    public func changeMode(permissions: UInt32) throws(SystemError) {
        _ = try retryingEINTR("fchmod") { fchmod(rawValue, mode_t(permissions)) }
    }

    /// `fchown(2)` of the open file.
    public func changeOwner(uid: UInt32, gid: UInt32) throws(SystemError) {
        _ = try retryingEINTR("fchown") { fchown(rawValue, uid, gid) }
    }

    /// `futimens(2)` of the open file.
    public func setTimes(access: Timestamp, modification: Timestamp) throws(SystemError) {
        var times = [
            timespec(tv_sec: Int(access.seconds), tv_nsec: Int(access.nanoseconds)),
            timespec(tv_sec: Int(modification.seconds), tv_nsec: Int(modification.nanoseconds)),
        ]
        _ = try retryingEINTR("futimens") { futimens(rawValue, &times) }
    }

    /// Every entry of this directory except `.` and `..`, read with `readdir(3)` from a duplicate
    /// of the descriptor (so this one's offset is untouched).
    public func entries() throws(SystemError) -> [DirectoryEntry] {
        var result: [DirectoryEntry] = []
        try withStream { stream in
            while let entry = readdir(stream) {
                let name = withUnsafePointer(to: &entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." { continue }
                result.append(DirectoryEntry(name: name, type: Self.fileType(dType: entry.pointee.d_type)))
            }
        }
        return result
    }

    /// Counts this directory's entries without building names: what the readdir probe times.
    public func countEntries() throws(SystemError) -> Int {
        var count = 0
        try withStream { stream in
            while readdir(stream) != nil { count += 1 }
        }
        return count - 2
    }

    /// Runs `body` with a `DIR` stream over a duplicate of this descriptor, rewound, closed after.
    private func withStream(_ body: (OpaquePointer) -> Void) throws(SystemError) {
        let copy = try retryingEINTR("dup") { dup(rawValue) }
        guard let stream = fdopendir(copy) else {
            let errno = Errno(rawValue: systemErrno())
            _ = Glibc.close(copy)
            throw SystemError("fdopendir", errno: errno)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        body(stream)
    }

    private static func fileType(dType: UInt8) -> FileType? {
        switch Int32(dType) {
        case Int32(DT_REG): .regular
        case Int32(DT_DIR): .directory
        case Int32(DT_LNK): .symlink
        case Int32(DT_CHR): .characterDevice
        case Int32(DT_BLK): .blockDevice
        case Int32(DT_FIFO): .fifo
        case Int32(DT_SOCK): .socket
        default: nil
        }
    }
}
