

/// An environment error from a syscall: the operation, the path it was applied to, and the errno.
///
/// Every wrapper in OverlaySystem throws this, so a message always says what failed and where,
/// for example `mount /var/tmp/overlaybench/run-1/merged: Operation not permitted (EPERM)`.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The syscall or library call, as its C name (`mount`, `fsconfig lowerdir+`, `io_uring_queue_init`).
    public var operation: String
    /// The path the call was applied to, when there is one.
    public var path: String?
    public var errno: Errno

    public init(_ operation: String, path: String? = nil, errno: Errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        let target = path.map { " \($0)" } ?? ""
        return "\(operation)\(target): \(errno.description) (\(errno.name))"
    }
}

/// Calls `body` until it does not fail with `EINTR`; on failure throws a ``SystemError``
/// with the errno the call left behind.
@inline(__always)
internal func retryingEINTR<T: BinaryInteger>(
    _ operation: @autoclosure () -> String, path: @autoclosure () -> String? = nil,
    _ body: () -> T
) throws(SystemError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let errno = Errno(rawValue: systemErrno())
        if errno == .interrupted { continue }
        throw SystemError(operation(), path: path(), errno: errno)
    }
}
