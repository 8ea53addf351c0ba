import OverlayCore
import OverlaySystem

/// `chown -R` as a runtime shifts an image it has no other way to present to a user namespace:
/// each name under a directory, the directory itself first, gets its own owner mapped through
/// `mapping` (`fchownat(2)` with `AT_SYMLINK_NOFOLLOW`, so a symlink is chowned, never its
/// target). Directories are opened relative to the root and only where `lstat` found one, so
/// the walk never leaves the tree (`openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`). It is also the check: ``check(_:against:mapping:)`` walks
/// the same way and expects every name to show the mapped owner of the name in the layers.
enum ChownWalk {
    /// Shifts every name under `root` and `root` itself; returns the names changed.
    static func shift(_ root: FileDescriptor, by mapping: IDMapping) throws -> Int {
        var changed = 0
        let top = try root.status()
        if let uid = mapping.outside(of: top.uid), let gid = mapping.outside(of: top.gid) {
            try root.changeOwner(uid: uid, gid: gid)
            changed += 1
        }
        try walk(root) { directory, name, status in
            guard let uid = mapping.outside(of: status.uid), let gid = mapping.outside(of: status.gid) else { return }
            try directory.changeOwner(name, uid: uid, gid: gid)
            changed += 1
        }
        return changed
    }

    /// Checks that every name under `root` (and `root`) shows the owner that the topmost of
    /// `layers` holding it has, mapped; returns the names checked.
    static func check(_ root: FileDescriptor, against layers: [String], mapping: IDMapping, backend: String) throws -> Int {
        let cwd = FileDescriptor.currentWorkingDirectory
        func expect(_ relative: String, _ status: FileStatus) throws {
            let suffix = relative.isEmpty ? "" : "/" + relative
            guard let lower = layers.lazy.compactMap({ try? cwd.status(of: $0 + suffix) }).first else {
                throw ProbeError.verificationFailed("\(backend): /\(relative) is in the view but in no layer")
            }
            let uid = mapping.outside(of: lower.uid), gid = mapping.outside(of: lower.gid)
            guard status.uid == uid, status.gid == gid else {
                throw ProbeError.verificationFailed(
                    "\(backend): /\(relative) shows owner \(status.uid):\(status.gid), not \(lower.uid):\(lower.gid) shifted by \(mapping)")
            }
        }
        try expect("", try root.status())
        var checked = 1
        try walk(root) { _, relative, status in
            try expect(relative, status)
            checked += 1
        } naming: { $0 }
        return checked
    }

    /// Calls `visit` with each name's directory, its name there (or, with `naming`, its path
    /// from the root) and its `lstat`, a directory before what it holds.
    private static func walk(
        _ root: FileDescriptor, _ visit: (FileDescriptor, String, FileStatus) throws -> Void,
        naming: ((String) -> String)? = nil
    ) throws {
        var pending = [""]
        while let path = pending.popLast() {
            let directory = path.isEmpty
                ? root
                : try FileDescriptor.open(path, [.readOnly, .directory, .noFollow], relativeTo: root, resolve: [.beneath, .noSymlinks])
            defer { if !path.isEmpty { directory.closeIgnoringErrors() } }
            for entry in try directory.entries() {
                let relative = path.isEmpty ? entry.name : path + "/" + entry.name
                let status = try directory.status(of: entry.name)
                try visit(directory, naming == nil ? entry.name : relative, status)
                if status.type == .directory { pending.append(relative) }
            }
        }
    }
}
