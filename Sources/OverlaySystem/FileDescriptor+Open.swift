internal import CLiburing
internal import Glibc


/// Flags for `openat(2)` and `openat2(2)`, spelled as the kernel spells them.
public struct OpenFlags: OptionSet, Sendable, Hashable {
    public var rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    public static let readOnly = OpenFlags(rawValue: O_RDONLY)
    public static let writeOnly = OpenFlags(rawValue: O_WRONLY)
    public static let readWrite = OpenFlags(rawValue: O_RDWR)
    public static let create = OpenFlags(rawValue: O_CREAT)
    public static let exclusive = OpenFlags(rawValue: O_EXCL)
    public static let truncate = OpenFlags(rawValue: O_TRUNC)
    public static let append = OpenFlags(rawValue: O_APPEND)
    public static let directory = OpenFlags(rawValue: O_DIRECTORY)
    public static let noFollow = OpenFlags(rawValue: O_NOFOLLOW)
    public static let closeOnExec = OpenFlags(rawValue: O_CLOEXEC)
    public static let path = OpenFlags(rawValue: CInt(CL_O_PATH))
    public static let temporaryFile = OpenFlags(rawValue: CInt(CL_O_TMPFILE))
    public static let noAccessTime = OpenFlags(rawValue: CInt(CL_O_NOATIME))

    /// Whether these flags ask for write access (what makes overlay copy up at open time).
    public var wantsWrite: Bool {
        rawValue & O_ACCMODE != O_RDONLY || contains(.truncate)
    }
}

/// `RESOLVE_*` flags of `openat2(2)`.
public struct ResolveFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let noCrossDevice = ResolveFlags(rawValue: UInt64(CL_RESOLVE_NO_XDEV))
    public static let noMagicLinks = ResolveFlags(rawValue: UInt64(CL_RESOLVE_NO_MAGICLINKS))
    public static let noSymlinks = ResolveFlags(rawValue: UInt64(CL_RESOLVE_NO_SYMLINKS))
    /// Fail rather than leave the directory the lookup starts from.
    public static let beneath = ResolveFlags(rawValue: UInt64(CL_RESOLVE_BENEATH))
    /// Treat the starting directory as `/`: absolute symlinks and `..` stay inside it.
    public static let inRoot = ResolveFlags(rawValue: UInt64(CL_RESOLVE_IN_ROOT))
}

/// `posix_fadvise(2)` advice.
public enum FileAdvice: Sendable {
    case willNeed, dontNeed, sequential, random

    var rawValue: CInt {
        switch self {
        case .willNeed: POSIX_FADV_WILLNEED
        case .dontNeed: POSIX_FADV_DONTNEED
        case .sequential: POSIX_FADV_SEQUENTIAL
        case .random: POSIX_FADV_RANDOM
        }
    }
}

extension FileDescriptor {
    /// `AT_FDCWD`: relative paths resolve against the current directory.
    public static var currentWorkingDirectory: FileDescriptor { FileDescriptor(rawValue: AT_FDCWD) }

    /// Opens `path` relative to `directory` with `openat(2)`; always `O_CLOEXEC`.
    public static func open(
        _ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644,
        relativeTo directory: FileDescriptor = .currentWorkingDirectory
    ) throws(SystemError) -> FileDescriptor {
        let raw = try retryingEINTR("open", path: path) {
            cl_openat(directory.rawValue, path, flags.union(.closeOnExec).rawValue, mode)
        }
        return FileDescriptor(rawValue: raw)
    }

    /// Opens `path` relative to `directory` with `openat2(2)`, which confines the lookup
    /// according to `resolve` (for example ``ResolveFlags/inRoot``); always `O_CLOEXEC`.
    /// `mode` is passed only with `O_CREAT` or `O_TMPFILE`: openat2 refuses any other mode with
    /// `EINVAL` (openat2(2), "mode … must be zero"), where openat ignores it.
    public static func open(
        _ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644,
        relativeTo directory: FileDescriptor, resolve: ResolveFlags
    ) throws(SystemError) -> FileDescriptor {
        let creates = flags.contains(.create) || flags.contains(.temporaryFile)
        let raw = try retryingEINTR("openat2", path: path) {
            cl_openat2(directory.rawValue, path, UInt64(UInt32(bitPattern: flags.union(.closeOnExec).rawValue)),
                       creates ? UInt64(mode) : 0, resolve.rawValue)
        }
        return FileDescriptor(rawValue: raw)
    }

    /// Closes the descriptor with `close(2)`. A close error is reported, never retried (Linux frees the fd).
    public func closeChecked(path: String? = nil) throws(SystemError) {
        if Glibc.close(rawValue) != 0 {
            throw SystemError("close", path: path, errno: Errno(rawValue: systemErrno()))
        }
    }

    /// `close(2)` where nothing useful can be done with an error (cleanup after another error).
    ///
    /// `EBADF` is not an error to ignore: it means the descriptor was closed already, and in a
    /// threaded process a second close closes whatever another thread opened under the same
    /// number meanwhile (a layer root, a cached directory). Debug builds, the tests', stop there.
    /// A negative descriptor (one never opened) is left alone.
    public func closeIgnoringErrors() {
        guard rawValue >= 0 else { return }
        let closed = Glibc.close(rawValue) == 0
        assert(closed || systemErrno() != EBADF, "close(\(rawValue)): EBADF, the descriptor was closed twice")
    }

    /// Reads up to `buffer.count` bytes at `offset` with `pread(2)`; returns 0 at end of file.
    public func pread(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try retryingEINTR("pread") { Glibc.pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes `buffer` at `offset` with `pwrite(2)`; returns the bytes written (may be short).
    public func pwrite(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try retryingEINTR("pwrite") { Glibc.pwrite(rawValue, buffer.baseAddress, buffer.count, off_t(offset)) }
    }

    /// Writes all of `buffer` at `offset`, looping over short `pwrite(2)`s.
    public func pwriteAll(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws(SystemError) {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeRawBufferPointer(rebasing: buffer[done...])
            done += try pwrite(rest, at: offset + Int64(done))
        }
    }

    /// Writes all of `bytes` at `offset`.
    public func writeAll(_ bytes: [UInt8], at offset: Int64) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let n = try retryingEINTR("pwrite") {
                bytes.withUnsafeBytes { Glibc.pwrite(rawValue, $0.baseAddress! + done, $0.count - done, off_t(offset) + done) }
            }
            done += n
        }
    }

    /// Reads until `buffer` is full or end of file, looping over short `pread(2)`s; returns the bytes read.
    public func preadFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[done...])
            let n = try pread(into: rest, at: offset + Int64(done))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `fsync(2)`.
    public func fsync(path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("fsync", path: path) { Glibc.fsync(rawValue) }
    }

    /// `posix_fadvise(2)` over `length` bytes from `offset` (0 means to the end).
    public func advise(_ advice: FileAdvice, offset: Int64 = 0, length: Int64 = 0) throws(SystemError) {
        let rc = posix_fadvise(rawValue, off_t(offset), off_t(length), advice.rawValue)
        if rc != 0 { throw SystemError("posix_fadvise", errno: Errno(rawValue: rc)) }
    }

    /// `ftruncate(2)`.
    public func truncate(to size: Int64, path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("ftruncate", path: path) { Glibc.ftruncate(rawValue, off_t(size)) }
    }

    /// `posix_fallocate(3)`: reserves blocks so a write cannot fail with ENOSPC later.
    public func allocate(offset: Int64, length: Int64) throws(SystemError) {
        _ = try retryingEINTR("fallocate") { posix_fallocate(rawValue, off_t(offset), off_t(length)) == 0 ? 0 : -1 }
    }

    /// The next offset at or after `offset` that holds data (`SEEK_DATA`), or nil when only a hole
    /// remains before end of file (`ENXIO`).
    public func nextData(from offset: Int64) throws(SystemError) -> Int64? {
        try seekHoleOrData(CInt(CL_SEEK_DATA), from: offset)
    }

    /// The next hole at or after `offset` (`SEEK_HOLE`); end of file counts as a hole.
    public func nextHole(from offset: Int64) throws(SystemError) -> Int64? {
        try seekHoleOrData(CInt(CL_SEEK_HOLE), from: offset)
    }

    private func seekHoleOrData(_ whence: CInt, from offset: Int64) throws(SystemError) -> Int64? {
        let result = lseek(rawValue, off_t(offset), whence)
        if result >= 0 { return Int64(result) }
        let errno = Errno(rawValue: systemErrno())
        if errno == .noSuchAddressOrDevice { return nil }
        throw SystemError("lseek", errno: errno)
    }

    /// Sets the size of a pipe's buffer (`F_SETPIPE_SZ`); returns the size the kernel granted.
    public func setPipeSize(_ size: Int) throws(SystemError) -> Int {
        Int(try retryingEINTR("fcntl F_SETPIPE_SZ") { cl_pipe_size(rawValue, CInt(size)) })
    }

    /// `pipe2(2)` with `O_CLOEXEC`.
    public static func makePipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var fds: [CInt] = [-1, -1]
        _ = try retryingEINTR("pipe2") { fds.withUnsafeMutableBufferPointer { cl_pipe2($0.baseAddress, O_CLOEXEC) } }
        return (FileDescriptor(rawValue: fds[0]), FileDescriptor(rawValue: fds[1]))
    }
}

/// Runs `body` with a descriptor opened on `path` and closes it afterwards, even on error.
public func withFileDescriptor<T>(
    _ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644,
    relativeTo directory: FileDescriptor = .currentWorkingDirectory,
    _ body: (FileDescriptor) throws -> T
) throws -> T {
    let fd = try FileDescriptor.open(path, flags, mode: mode, relativeTo: directory)
    defer { fd.closeIgnoringErrors() }
    return try body(fd)
}

extension FileDescriptor {
    public static let standardInput = FileDescriptor(rawValue: 0)
    public static let standardOutput = FileDescriptor(rawValue: 1)
    public static let standardError = FileDescriptor(rawValue: 2)

    /// `isatty(3)`: whether this descriptor is a terminal (progress lines redraw only on one).
    public var isTerminal: Bool { isatty(rawValue) != 0 }

    /// `syncfs(2)`: writes back everything dirty on the filesystem that holds this file.
    public func syncFilesystem(path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("syncfs", path: path) { cl_syncfs(rawValue) }
    }
}
