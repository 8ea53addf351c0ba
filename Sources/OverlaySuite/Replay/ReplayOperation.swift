import Foundation
import OverlaySystem

/// One operation of a replay trace: one JSON object per line, `{"op": "write", "path": "a/b",
/// "offset": 0, "length": 10, "byte": 65}`. Paths are relative to the merged root.
public enum ReplayOperation: Sendable, Hashable {
    /// `open(2)` then `close(2)`; flags from `read`, `write`, `trunc`, `create`, `excl`, `append`.
    case open(path: String, flags: [String], mode: UInt32)
    /// Opens for write and writes `length` copies of `byte` at `offset`.
    case write(path: String, offset: Int64, length: Int, byte: UInt8)
    /// Opens for read and reads up to `length` bytes at `offset`; prints their SHA-256.
    case read(path: String, offset: Int64, length: Int)
    case truncate(path: String, size: Int64)
    case unlink(path: String)
    case rmdir(path: String)
    /// `lstat`: prints type, mode and size.
    case stat(path: String)
    /// Prints the sorted names.
    case readdir(path: String)
    case mkdir(path: String, mode: UInt32)
    /// Follows symlinks, as `chmod(2)`.
    case chmod(path: String, mode: UInt32)
    /// Does not follow a final symlink, as `lchown(2)`.
    case chown(path: String, uid: UInt32, gid: UInt32)
    /// Does not follow a final symlink; seconds since the epoch.
    case utimes(path: String, atime: Int64, mtime: Int64)
    case rename(from: String, to: String)
    case link(from: String, to: String)
    case symlink(target: String, path: String)
    case setxattr(path: String, name: String, value: String)
    case removexattr(path: String, name: String)

    public static let openFlagNames: Set<String> = ["read", "write", "trunc", "create", "excl", "append"]

    /// The `open(2)` flags the names stand for.
    public static func openFlags(_ names: [String]) -> OpenFlags {
        let set = Set(names)
        var flags: OpenFlags
        switch (set.contains("read"), set.contains("write")) {
        case (_, false): flags = .readOnly
        case (false, true): flags = .writeOnly
        case (true, true): flags = .readWrite
        }
        if set.contains("trunc") { flags.insert(.truncate) }
        if set.contains("create") { flags.insert(.create) }
        if set.contains("excl") { flags.insert(.exclusive) }
        if set.contains("append") { flags.insert(.append) }
        return flags
    }

    /// The operation as one trace line.
    public var jsonLine: String {
        func q(_ s: String) -> String {
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        func octal(_ mode: UInt32) -> String { q("0" + String(mode, radix: 8)) }
        switch self {
        case .open(let path, let flags, let mode):
            return "{\"op\":\"open\",\"path\":\(q(path)),\"flags\":[\(flags.map(q).joined(separator: ","))],\"mode\":\(octal(mode))}"
        case .write(let path, let offset, let length, let byte):
            return "{\"op\":\"write\",\"path\":\(q(path)),\"offset\":\(offset),\"length\":\(length),\"byte\":\(byte)}"
        case .read(let path, let offset, let length):
            return "{\"op\":\"read\",\"path\":\(q(path)),\"offset\":\(offset),\"length\":\(length)}"
        case .truncate(let path, let size): return "{\"op\":\"truncate\",\"path\":\(q(path)),\"size\":\(size)}"
        case .unlink(let path): return "{\"op\":\"unlink\",\"path\":\(q(path))}"
        case .rmdir(let path): return "{\"op\":\"rmdir\",\"path\":\(q(path))}"
        case .stat(let path): return "{\"op\":\"stat\",\"path\":\(q(path))}"
        case .readdir(let path): return "{\"op\":\"readdir\",\"path\":\(q(path))}"
        case .mkdir(let path, let mode): return "{\"op\":\"mkdir\",\"path\":\(q(path)),\"mode\":\(octal(mode))}"
        case .chmod(let path, let mode): return "{\"op\":\"chmod\",\"path\":\(q(path)),\"mode\":\(octal(mode))}"
        case .chown(let path, let uid, let gid): return "{\"op\":\"chown\",\"path\":\(q(path)),\"uid\":\(uid),\"gid\":\(gid)}"
        case .utimes(let path, let atime, let mtime):
            return "{\"op\":\"utimes\",\"path\":\(q(path)),\"atime\":\(atime),\"mtime\":\(mtime)}"
        case .rename(let from, let to): return "{\"op\":\"rename\",\"from\":\(q(from)),\"to\":\(q(to))}"
        case .link(let from, let to): return "{\"op\":\"link\",\"from\":\(q(from)),\"to\":\(q(to))}"
        case .symlink(let target, let path): return "{\"op\":\"symlink\",\"target\":\(q(target)),\"path\":\(q(path))}"
        case .setxattr(let path, let name, let value):
            return "{\"op\":\"setxattr\",\"path\":\(q(path)),\"name\":\(q(name)),\"value\":\(q(value))}"
        case .removexattr(let path, let name): return "{\"op\":\"removexattr\",\"path\":\(q(path)),\"name\":\(q(name))}"
        }
    }
}
