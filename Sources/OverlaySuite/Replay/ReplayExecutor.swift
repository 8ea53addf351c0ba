import OverlayCore
import OverlaySystem

/// Runs trace operations against a ``ReplayTarget`` and says what each returned, one line per
/// operation: `ok`, or the errno's name (`ENOENT`); `read` adds the SHA-256 of the bytes read,
/// `stat` the type, octal mode and size, `readdir` the sorted names. With `timing`, each line
/// ends with ` <nanoseconds>ns`.
public struct ReplayExecutor {
    public let target: any ReplayTarget
    public var timing: Bool

    public init(target: any ReplayTarget, timing: Bool = false) {
        self.target = target
        self.timing = timing
    }

    public func run(_ operations: [ReplayOperation]) -> [String] {
        operations.map(run)
    }

    public func run(_ operation: ReplayOperation) -> String {
        let start = MonotonicClock.now()
        let result = Result { () throws(SystemError) -> String? in try perform(operation) }
        let elapsed = MonotonicClock.now() - start
        var line: String
        switch result {
        case .success(let detail): line = detail.map { "ok \($0)" } ?? "ok"
        case .failure(let error): line = error.errno.name
        }
        if timing { line += " \(elapsed)ns" }
        return line
    }

    private func perform(_ operation: ReplayOperation) throws(SystemError) -> String? {
        switch operation {
        case .open(let path, let flags, let mode):
            let fd = try target.open(path, ReplayOperation.openFlags(flags), mode: mode)
            try fd.closeChecked(path: path)
        case .write(let path, let offset, let length, let byte):
            let fd = try target.open(path, .writeOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            try fd.writeAll([UInt8](repeating: byte, count: length), at: offset)
        case .read(let path, let offset, let length):
            let fd = try target.open(path, .readOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(length, 1), alignment: 16)
            defer { buffer.deallocate() }
            let count = try fd.preadFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length]), at: offset)
            var hasher = SHA256Hasher()
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            return SHA256Hasher.hexString(hasher.finalize())
        case .truncate(let path, let size): try target.truncate(path, to: size)
        case .unlink(let path): try target.unlink(path)
        case .rmdir(let path): try target.removeDirectory(path)
        case .stat(let path):
            let status = try target.status(path)
            return "\(status.type.rawValue) \(TreeDump.octal(status.permissions)) \(status.size)"
        case .readdir(let path):
            return try target.directoryEntries(path).sorted().joined(separator: " ")
        case .mkdir(let path, let mode): try target.makeDirectory(path, mode: mode)
        case .chmod(let path, let mode): try target.changeMode(path, permissions: mode)
        case .chown(let path, let uid, let gid): try target.changeOwner(path, uid: uid, gid: gid)
        case .utimes(let path, let atime, let mtime):
            try target.setTimes(path, access: Timestamp(seconds: atime), modification: Timestamp(seconds: mtime))
        case .rename(let from, let to): try target.rename(from, to: to)
        case .link(let from, let to): try target.link(from, to: to)
        case .symlink(let destination, let path): try target.makeSymlink(path, target: destination)
        case .setxattr(let path, let name, let value): try target.setExtendedAttribute(path, name: name, value: Array(value.utf8))
        case .removexattr(let path, let name): try target.removeExtendedAttribute(path, name: name)
        }
        return nil
    }
}
