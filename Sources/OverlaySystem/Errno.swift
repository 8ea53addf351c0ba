internal import Glibc

/// An error number, as `errno` or a negated liburing result carries it.
///
/// Modelled on swift-system's `Errno`. OverlaySystem cannot import swift-system itself: its C shim
/// includes the kernel's `<linux/io_uring.h>`, whose `struct io_uring_sqe` differs from the copy
/// liburing 2.3 bundles, and clang refuses both in one module.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// `strerror(3)`.
    public var description: String { String(cString: strerror(rawValue)) }

    public static let notPermitted = Errno(rawValue: EPERM)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let noSuchProcess = Errno(rawValue: ESRCH)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let ioError = Errno(rawValue: EIO)
    public static let noSuchAddressOrDevice = Errno(rawValue: ENXIO)
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    public static let resourceTemporarilyUnavailable = Errno(rawValue: EAGAIN)
    public static let noMemory = Errno(rawValue: ENOMEM)
    public static let permissionDenied = Errno(rawValue: EACCES)
    public static let resourceBusy = Errno(rawValue: EBUSY)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let crossDeviceLink = Errno(rawValue: EXDEV)
    public static let noSuchDevice = Errno(rawValue: ENODEV)
    public static let notDirectory = Errno(rawValue: ENOTDIR)
    public static let isDirectory = Errno(rawValue: EISDIR)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let fileTooLarge = Errno(rawValue: EFBIG)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let readOnlyFileSystem = Errno(rawValue: EROFS)
    public static let outOfRange = Errno(rawValue: ERANGE)
    public static let tooManySymbolicLinkLevels = Errno(rawValue: ELOOP)
    public static let fileNameTooLong = Errno(rawValue: ENAMETOOLONG)
    public static let directoryNotEmpty = Errno(rawValue: ENOTEMPTY)
    public static let noFunction = Errno(rawValue: ENOSYS)
    public static let notSupported = Errno(rawValue: EOPNOTSUPP)
    public static let canceled = Errno(rawValue: ECANCELED)
    public static let noData = Errno(rawValue: ENODATA)
    /// `ENOTBLK`: `mount(2)` of a filesystem that needs a block device was given something else.
    public static let notBlockDevice = Errno(rawValue: ENOTBLK)

    private static let names: [CInt: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO",
        E2BIG: "E2BIG", EBADF: "EBADF", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM", EACCES: "EACCES",
        EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", EXDEV: "EXDEV", ENODEV: "ENODEV",
        ENOTDIR: "ENOTDIR", EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE",
        ETXTBSY: "ETXTBSY", EFBIG: "EFBIG", ENOSPC: "ENOSPC", ESPIPE: "ESPIPE", EROFS: "EROFS",
        EMLINK: "EMLINK", EPIPE: "EPIPE", ERANGE: "ERANGE", ENAMETOOLONG: "ENAMETOOLONG",
        ENOSYS: "ENOSYS", ENOTEMPTY: "ENOTEMPTY", ELOOP: "ELOOP", ENODATA: "ENODATA",
        EOPNOTSUPP: "EOPNOTSUPP", ECANCELED: "ECANCELED", ETIMEDOUT: "ETIMEDOUT", ESTALE: "ESTALE",
        EDQUOT: "EDQUOT", EOVERFLOW: "EOVERFLOW", ENOTBLK: "ENOTBLK",
    ]

    /// The symbolic name (`ENOENT`, `EXDEV`, …), as replay traces and reports print it.
    public var name: String { Self.names[rawValue] ?? "E\(rawValue)" }
}

/// An open file descriptor. A plain value: whoever opens it closes it.
public struct FileDescriptor: RawRepresentable, Hashable, Sendable {
    public var rawValue: CInt
    public init(rawValue: CInt) { self.rawValue = rawValue }
}
