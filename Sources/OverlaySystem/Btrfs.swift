internal import CLiburing
internal import Glibc

/// btrfs subvolumes through the filesystem's own ioctls (`<linux/btrfs.h>`), the calls
/// `btrfs subvolume create|snapshot|delete` and `btrfs property set ro` make, so the btrfs
/// backend needs no btrfs-progs at run time and gets each call's errno rather than a message.
/// Every call names a subvolume by its directory (open) and its single-component name.
public enum Btrfs {
    /// Whether the filesystem holding `descriptor` is btrfs (`fstatfs(2)`, `BTRFS_SUPER_MAGIC`).
    public static func holds(_ descriptor: FileDescriptor, path: String? = nil) throws(SystemError) -> Bool {
        let type = try retryingEINTR("fstatfs", path: path) { cl_fstatfs_type(descriptor.rawValue) }
        return UInt(bitPattern: type) == UInt(CL_BTRFS_SUPER_MAGIC)
    }

    /// Whether `path` (or, when it does not exist yet, its nearest existing ancestor) is on btrfs.
    public static func holds(path: String) throws(SystemError) -> Bool {
        var candidate = path.isEmpty ? "." : path
        while !FileSystem.exists(candidate), let slash = candidate.lastIndex(of: "/") {
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
        let fd = try FileDescriptor.open(candidate, [.path, .closeOnExec])
        defer { fd.closeIgnoringErrors() }
        return try holds(fd, path: candidate)
    }

    /// Whether `status` (of a path on btrfs) is a subvolume's root: its inode is always
    /// `BTRFS_FIRST_FREE_OBJECTID` (256).
    public static func isSubvolumeRoot(_ status: FileStatus) -> Bool {
        status.type == .directory && status.inode == CL_BTRFS_FIRST_FREE_OBJECTID
    }

    /// `ioctl(BTRFS_IOC_SUBVOL_CREATE)`: a new, empty subvolume `name` in `parent`.
    public static func createSubvolume(_ name: String, in parent: FileDescriptor, path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("ioctl BTRFS_IOC_SUBVOL_CREATE", path: path ?? name) { cl_btrfs_subvol_create(parent.rawValue, name) }
    }

    /// `ioctl(BTRFS_IOC_SNAP_CREATE_V2)`: `name` in `parent` becomes a snapshot of the subvolume
    /// open as `source`, sharing every extent with it until one side writes.
    public static func snapshot(
        _ source: FileDescriptor, as name: String, in parent: FileDescriptor, readOnly: Bool, path: String? = nil
    ) throws(SystemError) {
        _ = try retryingEINTR("ioctl BTRFS_IOC_SNAP_CREATE_V2", path: path ?? name) {
            cl_btrfs_snap_create(parent.rawValue, source.rawValue, name, readOnly ? 1 : 0)
        }
    }

    /// `ioctl(BTRFS_IOC_SNAP_DESTROY_V2)` by name (kernel 5.7+): deletes the subvolume `name` in
    /// `parent`, read-only or not, with everything in it. Its space is freed in the background.
    public static func deleteSubvolume(_ name: String, in parent: FileDescriptor, path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("ioctl BTRFS_IOC_SNAP_DESTROY_V2", path: path ?? name) { cl_btrfs_snap_destroy(parent.rawValue, name) }
    }

    /// `BTRFS_IOC_SUBVOL_SETFLAGS` with `BTRFS_SUBVOL_RDONLY` set or cleared on the subvolume
    /// open as `subvolume` (its root directory).
    public static func setReadOnly(_ subvolume: FileDescriptor, _ readOnly: Bool, path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("ioctl BTRFS_IOC_SUBVOL_SETFLAGS", path: path) { cl_btrfs_set_read_only(subvolume.rawValue, readOnly ? 1 : 0) }
    }

    /// `BTRFS_IOC_SUBVOL_GETFLAGS`: whether the subvolume open as `subvolume` is read-only.
    public static func isReadOnly(_ subvolume: FileDescriptor, path: String? = nil) throws(SystemError) -> Bool {
        try retryingEINTR("ioctl BTRFS_IOC_SUBVOL_GETFLAGS", path: path) { cl_btrfs_is_read_only(subvolume.rawValue) } == 1
    }
}
