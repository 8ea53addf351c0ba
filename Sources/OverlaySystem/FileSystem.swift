internal import CLiburing
internal import Glibc

/// Path-level file operations for everything above the System layer that is not a measured
/// call: reading inputs and /proc, writing result files atomically, listing and creating
/// directories, and finding executables.
///
/// Each call throws ``SystemError`` with the C call, the path and the errno, so a missing file
/// reads `open results.json: No such file or directory (ENOENT)` rather than a Foundation message.
/// Nothing here creates missing parent directories: a path below a directory that does not
/// exist fails with `ENOENT`.
public enum FileSystem {
    /// The whole content of a file, read with `read(2)` until end of file (procfs and sysfs
    /// files report size 0, so the size is never trusted). A directory fails with `EISDIR`.
    public static func readFile(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { fd.closeIgnoringErrors() }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try retryingEINTR("read", path: path) { Glibc.read(fd.rawValue, &chunk, chunk.count) }
            if n == 0 { return result }
            result.append(contentsOf: chunk[..<n])
        }
    }

    /// ``readFile(_:)`` decoded as UTF-8 (invalid sequences become U+FFFD).
    public static func readText(_ path: String) throws(SystemError) -> String {
        String(decoding: try readFile(path), as: UTF8.self)
    }

    /// `statx(2)` of `path` without following a final symlink; nil if it does not exist.
    public static func status(_ path: String, followSymlinks: Bool = false) -> FileStatus? {
        try? FileDescriptor.currentWorkingDirectory.status(of: path, followSymlinks: followSymlinks)
    }

    /// Whether anything (a dangling symlink included) exists at `path`.
    public static func exists(_ path: String) -> Bool { status(path) != nil }

    /// Whether `path` is a directory, following symlinks.
    public static func isDirectory(_ path: String) -> Bool { status(path, followSymlinks: true)?.type == .directory }

    /// Whether `path` is a regular file this process may execute (`access(2)` with `X_OK`).
    public static func isExecutable(_ path: String) -> Bool {
        status(path, followSymlinks: true)?.type == .regular && access(path, X_OK) == 0
    }

    /// The names in directory `path`, without `.` and `..`, in the order `readdir(3)` gives them.
    public static func entries(_ path: String) throws(SystemError) -> [String] {
        let fd = try FileDescriptor.open(path, [.readOnly, .directory])
        defer { fd.closeIgnoringErrors() }
        do { return try fd.entries().map(\.name) } catch { throw SystemError(error.operation, path: path, errno: error.errno) }
    }

    /// `mkdir(2)` of one directory; an existing directory is fine when `existingIsFine`.
    public static func makeDirectory(_ path: String, mode: UInt32 = 0o755, existingIsFine: Bool = true) throws(SystemError) {
        do {
            try FileDescriptor.currentWorkingDirectory.makeDirectory(path, mode: mode)
        } catch {
            // Not `catch where`: that pattern after a typed throw crashes Swift 6.3.1 (DEVELOPERS.md).
            if existingIsFine && error.errno == .fileExists && isDirectory(path) { return }
            throw error
        }
    }

    /// `mkdtemp(3)`: a new directory named `prefix` plus six random characters inside `parent`.
    public static func makeTemporaryDirectory(in parent: String, prefix: String) throws(SystemError) -> String {
        var template = Array((parent + "/" + prefix + "XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard made else { throw SystemError("mkdtemp", path: parent + "/" + prefix, errno: Errno(rawValue: systemErrno())) }
        return String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `unlink(2)` of a file or symlink.
    public static func removeFile(_ path: String) throws(SystemError) {
        try FileDescriptor.currentWorkingDirectory.unlink(path)
    }

    /// Writes `bytes` to `path` so that a reader sees the old file or the whole new one, never a
    /// part: a temporary file beside it, `fsync(2)`, then `renameat2(2)` over it (with
    /// `RENAME_NOREPLACE` unless `replacing`), then `fsync` of the directory. An existing file is
    /// replaced only when `replacing`; otherwise that is `EEXIST`.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, replacing: Bool, mode: UInt32 = 0o644) throws(SystemError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let parent = try FileDescriptor.open(directory.isEmpty ? "/" : directory, [.readOnly, .directory])
        defer { parent.closeIgnoringErrors() }
        let temporary = ".\(name).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = try FileDescriptor.open(temporary, [.writeOnly, .create, .exclusive], mode: mode, relativeTo: parent)
        do throws(SystemError) {
            do throws(SystemError) {
                try fd.writeAll(bytes, at: 0)
                try fd.fsync(path: path)
            } catch {
                fd.closeIgnoringErrors()
                throw error
            }
            // Closed once, here; a failed rename below must not close the number again.
            try fd.closeChecked(path: path)
            try parent.rename(temporary, to: name, in: parent, noReplace: !replacing)
        } catch {
            try? parent.unlink(temporary)
            throw SystemError(error.operation, path: path, errno: error.errno)
        }
        try parent.fsync(path: directory)
    }

    /// `getcwd(3)`: the current directory, for making a user's relative path absolute.
    public static func currentDirectory() throws(SystemError) -> String {
        guard let cwd = getcwd(nil, 0) else { throw SystemError("getcwd", errno: Errno(rawValue: systemErrno())) }
        defer { free(cwd) }
        return String(cString: cwd)
    }

    /// `path` made absolute against the current directory, textually.
    public static func absolute(_ path: String) throws(SystemError) -> String {
        path.hasPrefix("/") ? path : try currentDirectory() + "/" + path
    }
}
