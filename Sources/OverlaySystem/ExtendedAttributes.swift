internal import CLiburing
internal import Glibc


/// The extended-attribute calls (`getxattr(2)` family) on a path, never following a final symlink
/// (the `l*xattr` variants), or on an open descriptor (`f*xattr`).
///
/// Linux before 6.13 has no `*xattrat` calls; to reach a name relative to a directory descriptor,
/// use ``ExtendedAttributes/path(_:in:)``, which goes through `/proc/self/fd`.
public enum ExtendedAttributes {
    /// A path that names `name` inside the directory open as `directory`, via `/proc/self/fd`.
    public static func path(_ name: String, in directory: FileDescriptor) -> String {
        "/proc/self/fd/\(directory.rawValue)/\(name)"
    }

    /// `lgetxattr(2)`; nil when the attribute is absent (`ENODATA`).
    public static func get(_ name: String, path: String) throws(SystemError) -> [UInt8]? {
        try read(name, path: path) { buffer, size in lgetxattr(path, name, buffer, size) }
    }

    /// `fgetxattr(2)`; nil when the attribute is absent.
    public static func get(_ name: String, descriptor: FileDescriptor) throws(SystemError) -> [UInt8]? {
        try read(name, path: nil) { buffer, size in fgetxattr(descriptor.rawValue, name, buffer, size) }
    }

    /// `lsetxattr(2)`.
    public static func set(_ name: String, value: [UInt8], path: String) throws(SystemError) {
        _ = try retryingEINTR("setxattr \(name)", path: path) {
            value.withUnsafeBytes { lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
        }
    }

    /// `fsetxattr(2)`.
    public static func set(_ name: String, value: [UInt8], descriptor: FileDescriptor) throws(SystemError) {
        _ = try retryingEINTR("fsetxattr \(name)") {
            value.withUnsafeBytes { fsetxattr(descriptor.rawValue, name, $0.baseAddress, $0.count, 0) }
        }
    }

    /// `lremovexattr(2)`.
    public static func remove(_ name: String, path: String) throws(SystemError) {
        _ = try retryingEINTR("removexattr \(name)", path: path) { lremovexattr(path, name) }
    }

    /// `fremovexattr(2)`.
    public static func remove(_ name: String, descriptor: FileDescriptor) throws(SystemError) {
        _ = try retryingEINTR("fremovexattr \(name)") { fremovexattr(descriptor.rawValue, name) }
    }

    /// `llistxattr(2)`: the attribute names, in the order the filesystem gives.
    public static func list(path: String) throws(SystemError) -> [String] {
        try names(path: path) { buffer, size in llistxattr(path, buffer, size) }
    }

    /// `flistxattr(2)`.
    public static func list(descriptor: FileDescriptor) throws(SystemError) -> [String] {
        try names(path: nil) { buffer, size in flistxattr(descriptor.rawValue, buffer, size) }
    }

    private static func read(
        _ name: String, path: String?, _ call: (UnsafeMutableRawPointer?, Int) -> Int
    ) throws(SystemError) -> [UInt8]? {
        while true {
            let size = call(nil, 0)
            if size < 0 {
                let errno = Errno(rawValue: systemErrno())
                if errno == .noData { return nil }
                if errno == .interrupted { continue }
                throw SystemError("getxattr \(name)", path: path, errno: errno)
            }
            var value = [UInt8](repeating: 0, count: size)
            let got = value.withUnsafeMutableBytes { call($0.baseAddress, $0.count) }
            if got >= 0 { return Array(value[..<got]) }
            let errno = Errno(rawValue: systemErrno())
            if errno == .outOfRange || errno == .interrupted { continue }  // grew between the calls
            if errno == .noData { return nil }
            throw SystemError("getxattr \(name)", path: path, errno: errno)
        }
    }

    private static func names(
        path: String?, _ call: (UnsafeMutablePointer<CChar>?, Int) -> Int
    ) throws(SystemError) -> [String] {
        while true {
            let size = call(nil, 0)
            if size < 0 {
                let errno = Errno(rawValue: systemErrno())
                if errno == .interrupted { continue }
                throw SystemError("listxattr", path: path, errno: errno)
            }
            if size == 0 { return [] }
            var buffer = [CChar](repeating: 0, count: size)
            let got = buffer.withUnsafeMutableBufferPointer { call($0.baseAddress, $0.count) }
            if got < 0 {
                let errno = Errno(rawValue: systemErrno())
                if errno == .outOfRange || errno == .interrupted { continue }
                throw SystemError("listxattr", path: path, errno: errno)
            }
            return buffer[..<got].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        }
    }
}
