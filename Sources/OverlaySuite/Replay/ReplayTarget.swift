import OverlayCore
import OverlaySystem

/// What a replay runs against: a merged view, reached either through a real mount's root
/// (``RootedReplayTarget``) or through the reference overlay's own lookup
/// (``ReferenceReplayTarget``). Paths are relative to the merged root and resolve as with
/// `RESOLVE_IN_ROOT`. Errors carry the errno the operation returned.
public protocol ReplayTarget: AnyObject {
    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor
    /// `lstat`.
    func status(_ path: String) throws(SystemError) -> FileStatus
    func directoryEntries(_ path: String) throws(SystemError) -> [String]
    func readSymlink(_ path: String) throws(SystemError) -> String
    /// Every xattr of `path` (not following a final symlink) with its value.
    func extendedAttributes(_ path: String) throws(SystemError) -> [(name: String, value: [UInt8])]
    func truncate(_ path: String, to size: Int64) throws(SystemError)
    func unlink(_ path: String) throws(SystemError)
    func removeDirectory(_ path: String) throws(SystemError)
    func makeDirectory(_ path: String, mode: UInt32) throws(SystemError)
    func changeMode(_ path: String, permissions: UInt32) throws(SystemError)
    func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError)
    func setTimes(_ path: String, access: Timestamp, modification: Timestamp) throws(SystemError)
    func rename(_ from: String, to: String) throws(SystemError)
    func link(_ from: String, to: String) throws(SystemError)
    func makeSymlink(_ path: String, target: String) throws(SystemError)
    func setExtendedAttribute(_ path: String, name: String, value: [UInt8]) throws(SystemError)
    func removeExtendedAttribute(_ path: String, name: String) throws(SystemError)
}

/// The replay target for a view: the reference's own lookup for the reference backend, the
/// mount's root descriptor for the others.
public func makeReplayTarget(for view: any MergedView) -> any ReplayTarget {
    if let reference = view as? ReferenceMergedView { return ReferenceReplayTarget(reference.overlay) }
    return RootedReplayTarget(root: view.root)
}

/// A real directory tree (a kernel or fuse mount, a plain directory), every path resolved by
/// `openat2(2)` with `RESOLVE_IN_ROOT` from its root descriptor, so symlinks inside cannot lead
/// out of it. Operations on the last component go through its parent, resolved that way.
public final class RootedReplayTarget: ReplayTarget {
    public let root: FileDescriptor
    static let inRoot: ResolveFlags = [.inRoot, .noMagicLinks]
    /// Walks one resolution may make before its `EAGAIN` stands (see ``openInRoot(_:_:mode:)``).
    static let walkAttempts = 100

    public init(root: FileDescriptor) { self.root = root }

    /// `openat2(2)` with `RESOLVE_IN_ROOT`, walked again on `EAGAIN`. A scoped walk that meets
    /// `..` (a symlink such as `a/lnk -> ../b`) fails with `EAGAIN` whenever a rename or a mount
    /// anywhere on the system ran during the walk: `handle_dots` in fs/namei.c rechecks the
    /// global `rename_lock` and `mount_lock` sequence counts, since it can no longer prove `..`
    /// stayed inside the root. The error says nothing about the path (openat2(2): "the caller may
    /// choose to retry"); a replay that reported it would record how busy the machine was, not
    /// what the filesystem did, and the reference overlay, which resolves `..` itself, never does.
    private func openInRoot(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        var attempt = 1
        while true {
            do {
                return try FileDescriptor.open(path, flags, mode: mode, relativeTo: root, resolve: Self.inRoot)
            } catch {
                guard error.errno == .resourceTemporarilyUnavailable, attempt < Self.walkAttempts else { throw error }
                attempt += 1
            }
        }
    }

    private func split(_ path: String) -> (parent: String, name: String) {
        let parts = path.split(separator: "/").map(String.init)
        guard let name = parts.last else { return (".", ".") }
        return (parts.dropLast().isEmpty ? "." : parts.dropLast().joined(separator: "/"), name)
    }

    private func withParent<T>(_ path: String, _ body: (FileDescriptor, String) throws(SystemError) -> T) throws(SystemError) -> T {
        let (parent, name) = split(path)
        let directory = try openInRoot(parent, [.path, .directory], mode: 0)
        defer { directory.closeIgnoringErrors() }
        return try body(directory, name)
    }

    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try openInRoot(path, flags, mode: mode)
    }

    public func status(_ path: String) throws(SystemError) -> FileStatus {
        try withParent(path) { directory, name throws(SystemError) in try directory.status(of: name) }
    }

    public func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        let fd = try open(path, [.readOnly, .directory], mode: 0)
        defer { fd.closeIgnoringErrors() }
        return try fd.entries().map(\.name)
    }

    public func readSymlink(_ path: String) throws(SystemError) -> String {
        try withParent(path) { directory, name throws(SystemError) in try directory.readSymlink(name) }
    }

    public func extendedAttributes(_ path: String) throws(SystemError) -> [(name: String, value: [UInt8])] {
        try withParent(path) { directory, name throws(SystemError) in
            let attributePath = ExtendedAttributes.path(name, in: directory)
            var result: [(name: String, value: [UInt8])] = []
            for attribute in try ExtendedAttributes.list(path: attributePath) {
                if let value = try ExtendedAttributes.get(attribute, path: attributePath) { result.append((attribute, value)) }
            }
            return result
        }
    }

    /// `open(O_WRONLY)` and `ftruncate(2)`: the same copy-up as `truncate(2)`, and the same
    /// `EISDIR` for a directory.
    public func truncate(_ path: String, to size: Int64) throws(SystemError) {
        let fd = try open(path, .writeOnly, mode: 0)
        defer { fd.closeIgnoringErrors() }
        try fd.truncate(to: size, path: path)
    }

    public func unlink(_ path: String) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in try directory.unlink(name) }
    }

    public func removeDirectory(_ path: String) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in try directory.unlink(name, directory: true) }
    }

    public func makeDirectory(_ path: String, mode: UInt32) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in try directory.makeDirectory(name, mode: mode) }
    }

    /// Follows symlinks: the file is opened `O_PATH` in the root and changed through its
    /// `/proc/self/fd` link.
    public func changeMode(_ path: String, permissions: UInt32) throws(SystemError) {
        let fd = try open(path, .path, mode: 0)
        defer { fd.closeIgnoringErrors() }
        try FileDescriptor.currentWorkingDirectory.changeMode("/proc/self/fd/\(fd.rawValue)", permissions: permissions)
    }

    public func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in try directory.changeOwner(name, uid: uid, gid: gid) }
    }

    public func setTimes(_ path: String, access: Timestamp, modification: Timestamp) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in
            try directory.setTimes(name, access: access, modification: modification)
        }
    }

    public func rename(_ from: String, to: String) throws(SystemError) {
        try withParent(from) { source, oldName throws(SystemError) in
            try withParent(to) { destination, newName throws(SystemError) in
                try source.rename(oldName, to: newName, in: destination)
            }
        }
    }

    /// `linkat(2)` looks the old name up completely before the new one's parent
    /// (`do_linkat`), so a missing source fails with `ENOENT` whatever the target's path holds.
    public func link(_ from: String, to: String) throws(SystemError) {
        try withParent(from) { source, oldName throws(SystemError) in
            _ = try source.status(of: oldName)
            return try withParent(to) { destination, newName throws(SystemError) in
                try source.link(oldName, to: newName, in: destination)
            }
        }
    }

    public func makeSymlink(_ path: String, target: String) throws(SystemError) {
        try withParent(path) { directory, name throws(SystemError) in try directory.makeSymlink(name, target: target) }
    }

    public func setExtendedAttribute(_ path: String, name: String, value: [UInt8]) throws(SystemError) {
        try withParent(path) { directory, last throws(SystemError) in
            try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(last, in: directory))
        }
    }

    public func removeExtendedAttribute(_ path: String, name: String) throws(SystemError) {
        try withParent(path) { directory, last throws(SystemError) in
            try ExtendedAttributes.remove(name, path: ExtendedAttributes.path(last, in: directory))
        }
    }
}

/// The reference overlay, every path resolved by its own merged lookup.
public final class ReferenceReplayTarget: ReplayTarget {
    public let overlay: ReferenceOverlay

    public init(_ overlay: ReferenceOverlay) { self.overlay = overlay }

    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try overlay.open(path, flags, mode: mode)
    }
    public func status(_ path: String) throws(SystemError) -> FileStatus { try overlay.status(of: path) }
    public func directoryEntries(_ path: String) throws(SystemError) -> [String] { try overlay.directoryEntries(path) }
    public func readSymlink(_ path: String) throws(SystemError) -> String { try overlay.readSymlink(path) }
    public func extendedAttributes(_ path: String) throws(SystemError) -> [(name: String, value: [UInt8])] {
        try overlay.extendedAttributes(of: path)
    }
    public func truncate(_ path: String, to size: Int64) throws(SystemError) { try overlay.truncate(path, to: size) }
    public func unlink(_ path: String) throws(SystemError) { try overlay.unlink(path) }
    public func removeDirectory(_ path: String) throws(SystemError) { try overlay.removeDirectory(path) }
    public func makeDirectory(_ path: String, mode: UInt32) throws(SystemError) { try overlay.makeDirectory(path, mode: mode) }
    public func changeMode(_ path: String, permissions: UInt32) throws(SystemError) {
        try overlay.changeMode(path, permissions: permissions)
    }
    public func changeOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        try overlay.changeOwner(path, uid: uid, gid: gid)
    }
    public func setTimes(_ path: String, access: Timestamp, modification: Timestamp) throws(SystemError) {
        try overlay.setTimes(path, access: access, modification: modification)
    }
    public func rename(_ from: String, to: String) throws(SystemError) { try overlay.rename(from, to: to) }
    public func link(_ from: String, to: String) throws(SystemError) { try overlay.link(from, to: to) }
    public func makeSymlink(_ path: String, target: String) throws(SystemError) { try overlay.makeSymlink(path, target: target) }
    public func setExtendedAttribute(_ path: String, name: String, value: [UInt8]) throws(SystemError) {
        try overlay.setExtendedAttribute(path, name: name, value: value)
    }
    public func removeExtendedAttribute(_ path: String, name: String) throws(SystemError) {
        try overlay.removeExtendedAttribute(path, name: name)
    }
}
