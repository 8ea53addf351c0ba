import OverlaySystem

/// Deletes a directory tree with `unlinkat(2)` relative to directory descriptors opened with
/// `O_NOFOLLOW`, so a symlink inside the tree is removed, never followed, and a mount point
/// (another device) is never descended into.
public enum TreeRemover {
    public static func remove(_ path: String) throws(SystemError) {
        let parentPath = path.split(separator: "/").dropLast().joined(separator: "/")
        let name = String(path.split(separator: "/").last ?? "")
        let parent = try FileDescriptor.open("/" + parentPath, [.readOnly, .directory, .noFollow])
        defer { parent.closeIgnoringErrors() }
        let status: FileStatus
        switch Result(catching: { () throws(SystemError) -> FileStatus in try parent.status(of: name) }) {
        case .success(let value): status = value
        case .failure(let error) where error.errno == .noSuchFileOrDirectory: return
        case .failure(let error): throw error
        }
        try remove(name, in: parent, status: status, device: (status.deviceMajor, status.deviceMinor))
    }

    /// Deletes `name` in the directory open as `parent` (which may be an `O_PATH` descriptor):
    /// a file, or a whole tree, never following a symlink.
    public static func remove(_ name: String, in parent: FileDescriptor) throws(SystemError) {
        let status = try parent.status(of: name)
        try remove(name, in: parent, status: status, device: (status.deviceMajor, status.deviceMinor))
    }

    private static func remove(
        _ name: String, in parent: FileDescriptor, status: FileStatus, device: (UInt32, UInt32)
    ) throws(SystemError) {
        guard status.type == .directory else {
            try parent.unlink(name)
            return
        }
        guard status.deviceMajor == device.0 && status.deviceMinor == device.1 else {
            throw SystemError("remove tree (refusing to cross into another filesystem)", path: name, errno: .crossDeviceLink)
        }
        let directory = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: parent)
        do {
            for entry in try directory.entries() {
                let child = try directory.status(of: entry.name)
                try remove(entry.name, in: directory, status: child, device: device)
            }
        } catch {
            directory.closeIgnoringErrors()
            throw error
        }
        directory.closeIgnoringErrors()
        try parent.unlink(name, directory: true)
    }
}
