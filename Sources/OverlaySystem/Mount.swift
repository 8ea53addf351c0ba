internal import CLiburing
internal import Glibc


/// The `mountflags` of `mount(2)` that OverlayBench uses.
public struct MountFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// `MS_RDONLY`.
    public static let readOnly = MountFlags(rawValue: UInt(CL_MS_RDONLY))
}

/// `mount(2)`, `umount2(2)` and the new mount API (`fsopen(2)`, `fsconfig(2)`, `fsmount(2)`,
/// `move_mount(2)`).
public enum Mount {
    /// `mount(2)` with a filesystem-specific `data` string (for overlay, the option string).
    /// `source` is a device, a file (EROFS mounts an image file directly on 6.12+) or a name.
    public static func mount(source: String, target: String, type: String, flags: MountFlags = [], data: String?) throws(SystemError) {
        let rc: CInt
        if let data {
            rc = data.withCString { cl_mount(source, target, type, flags.rawValue, $0) }
        } else {
            rc = cl_mount(source, target, type, flags.rawValue, nil)
        }
        if rc != 0 { throw SystemError("mount", path: target, errno: Errno(rawValue: systemErrno())) }
    }

    /// `umount2(2)` with `UMOUNT_NOFOLLOW`, so a symlink planted at `target` is never followed;
    /// `detach` adds `MNT_DETACH` (lazy unmount).
    public static func unmount(_ target: String, detach: Bool = false) throws(SystemError) {
        let flags = CInt(CL_UMOUNT_NOFOLLOW) | (detach ? CInt(CL_MNT_DETACH) : 0)
        _ = try retryingEINTR("umount2", path: target) { cl_umount2(target, flags) }
    }

    /// The maximum length of a `mount(2)` data string: one page, less the terminating NUL.
    public static var maximumDataLength: Int { Int(sysconf(Int32(_SC_PAGESIZE))) - 1 }
}

/// A filesystem context from `fsopen(2)`: configure it key by key with `fsconfig(2)`, then
/// create the superblock and attach it with ``mount(at:)``.
///
/// Each `fsconfig` string value is limited to 255 bytes by the kernel (`strndup_user(…, 256)`).
public struct FilesystemContext: ~Copyable {
    public let descriptor: FileDescriptor
    public let fileSystemType: String

    /// `fsopen(2)` with `FSOPEN_CLOEXEC`.
    public init(fileSystemType: String) throws(SystemError) {
        let fd = try retryingEINTR("fsopen", path: fileSystemType) { cl_fsopen(fileSystemType, UInt32(CL_FSOPEN_CLOEXEC)) }
        self.descriptor = FileDescriptor(rawValue: fd)
        self.fileSystemType = fileSystemType
    }

    deinit { descriptor.closeIgnoringErrors() }

    /// `fsconfig(FSCONFIG_SET_STRING)`: `key=value`.
    public func set(_ key: String, _ value: String) throws(SystemError) {
        _ = try retryingEINTR("fsconfig \(key)", path: value) {
            cl_fsconfig(descriptor.rawValue, UInt32(CL_FSCONFIG_SET_STRING), key, value, 0)
        }
    }

    /// `fsconfig(FSCONFIG_SET_FLAG)`: a bare option such as `volatile` or `userxattr`.
    public func set(flag key: String) throws(SystemError) {
        _ = try retryingEINTR("fsconfig \(key)") {
            cl_fsconfig(descriptor.rawValue, UInt32(CL_FSCONFIG_SET_FLAG), key, nil, 0)
        }
    }

    /// `fsconfig(FSCONFIG_CMD_CREATE)`, `fsmount(2)` and `move_mount(2)` onto `target`.
    public func mount(at target: String) throws(SystemError) {
        _ = try retryingEINTR("fsconfig create", path: target) {
            cl_fsconfig(descriptor.rawValue, UInt32(CL_FSCONFIG_CMD_CREATE), nil, nil, 0)
        }
        let mountFD = try retryingEINTR("fsmount", path: target) {
            cl_fsmount(descriptor.rawValue, UInt32(CL_FSMOUNT_CLOEXEC), 0)
        }
        defer { _ = Glibc.close(mountFD) }
        _ = try retryingEINTR("move_mount", path: target) {
            cl_move_mount(mountFD, "", AT_FDCWD, target, UInt32(CL_MOVE_MOUNT_F_EMPTY_PATH))
        }
    }
}
