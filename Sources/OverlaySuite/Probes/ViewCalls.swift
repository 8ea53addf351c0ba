import OverlayCore
import OverlaySystem

/// The namespace and attribute calls the metadata and copy-up probes time, on any view: one
/// syscall relative to the merged root descriptor for kernel and fuse mounts and plain
/// directories (no `openat2` parent walk, so nothing but the call sits between the clock reads),
/// and the reference overlay's own call for the reference, which has no merged root.
///
/// Paths are relative to the merged root and are the probe's own generated names.
struct ViewCalls: Sendable {
    let root: FileDescriptor
    let reference: ReferenceOverlay?

    init(_ view: any MergedView) {
        let inner = (view as? VariantMergedView)?.inner ?? view
        reference = (inner as? ReferenceMergedView)?.overlay
        root = view.root
    }

    /// `openat(2)`.
    func open(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0) throws(SystemError) -> FileDescriptor {
        if let reference { return try reference.open(path, flags, mode: mode) }
        return try FileDescriptor.open(path, flags, mode: mode, relativeTo: root)
    }

    /// The lookup probe's timed call: `statx(2)` for mounts (nothing decoded), the reference's own
    /// lookup for the reference. Returns the errno, or nil when the name was found.
    func statxOnly(_ path: String) -> Errno? {
        guard let reference else { return root.statxOnly(path) }
        do {
            _ = try reference.status(of: path)
            return nil
        } catch {
            return error.errno
        }
    }

    /// `statx(2)` without following a final symlink.
    func status(_ path: String) throws(SystemError) -> FileStatus {
        if let reference { return try reference.status(of: path) }
        return try root.status(of: path)
    }

    /// The names in a merged directory.
    func entries(_ path: String) throws(SystemError) -> [String] {
        if let reference { return try reference.directoryEntries(path) }
        let fd = try FileDescriptor.open(path, [.readOnly, .directory], relativeTo: root)
        defer { fd.closeIgnoringErrors() }
        return try fd.entries().map(\.name)
    }

    /// `unlinkat(2)`.
    func unlink(_ path: String) throws(SystemError) {
        if let reference { return try reference.unlink(path) }
        try root.unlink(path)
    }

    /// `unlinkat(2)` with `AT_REMOVEDIR`.
    func removeDirectory(_ path: String) throws(SystemError) {
        if let reference { return try reference.removeDirectory(path) }
        try root.unlink(path, directory: true)
    }

    /// `mkdirat(2)`.
    func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws(SystemError) {
        if let reference { return try reference.makeDirectory(path, mode: mode) }
        try root.makeDirectory(path, mode: mode)
    }

    /// `renameat2(2)` with no flags.
    func rename(_ from: String, to: String) throws(SystemError) {
        if let reference { return try reference.rename(from, to: to) }
        try root.rename(from, to: to, in: root)
    }

    /// `linkat(2)`.
    func link(_ from: String, to: String) throws(SystemError) {
        if let reference { return try reference.link(from, to: to) }
        try root.link(from, to: to, in: root)
    }

    /// `fchmodat(2)`.
    func changeMode(_ path: String, permissions: UInt32) throws(SystemError) {
        if let reference { return try reference.changeMode(path, permissions: permissions) }
        try root.changeMode(path, permissions: permissions)
    }

    /// `fchownat(2)` with `AT_SYMLINK_NOFOLLOW`.
    func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        if let reference { return try reference.changeOwner(path, uid: uid, gid: gid) }
        try root.changeOwner(path, uid: uid, gid: gid)
    }

    /// `truncate(2)`.
    func truncate(_ path: String, to size: Int64) throws(SystemError) {
        if let reference { return try reference.truncate(path, to: size) }
        try root.truncate(path, to: size)
    }

    /// `lsetxattr(2)`. `attributePath` is ``attributePath(_:)`` of `path`, built before the
    /// clock read.
    func setExtendedAttribute(_ path: String, attributePath: String, name: String, value: [UInt8]) throws(SystemError) {
        if let reference { return try reference.setExtendedAttribute(path, name: name, value: value) }
        try ExtendedAttributes.set(name, value: value, path: attributePath)
    }

    /// The path `lsetxattr(2)` takes for `path` below the root (there is no `setxattrat` before 6.13).
    func attributePath(_ path: String) -> String { ExtendedAttributes.path(path, in: root) }
}
