import OverlaySystem

/// Applies one overlay layer onto an ordinary directory as overlay would present it on top of
/// what is there: a whiteout (a 0/0 character device) deletes the name below, a directory marked
/// `trusted.overlay.opaque=y` replaces the directory below instead of merging with it, any other
/// directory merges, and every other entry replaces the name below
/// (`Documentation/filesystems/overlayfs.rst`, "whiteouts and opaque directories").
///
/// Applying the lower layers bottom-up, then the upper, gives the merged tree in one directory.
public enum LayerFlattener {
    static let opaqueAttribute = "trusted.overlay.opaque"

    /// Applies the layer directory `layer` onto the directory `target`.
    public static func apply(_ layer: String, onto target: String) throws {
        let source = try FileDescriptor.open(layer, [.readOnly, .directory, .noFollow])
        defer { source.closeIgnoringErrors() }
        let destination = try FileDescriptor.open(target, [.readOnly, .directory, .noFollow])
        defer { destination.closeIgnoringErrors() }
        try merge(source, into: destination)
    }

    private static func merge(_ source: FileDescriptor, into destination: FileDescriptor) throws {
        for entry in try source.entries() {
            let name = entry.name
            let status = try source.status(of: name)
            var existing = try? destination.status(of: name)
            if status.isWhiteoutDevice {
                if existing != nil { try remove(name, in: destination) }
                continue
            }
            if status.type == .directory {
                let opaque = try ExtendedAttributes.get(opaqueAttribute, path: ExtendedAttributes.path(name, in: source)) == Array("y".utf8)
                if let current = existing, current.type != .directory || opaque {
                    try remove(name, in: destination)
                    existing = nil
                }
                if existing == nil {
                    try destination.makeDirectory(name, mode: 0o700)
                    try destination.changeMode(name, permissions: status.permissions)
                }
                let child = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: source)
                defer { child.closeIgnoringErrors() }
                let target = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: destination)
                defer { target.closeIgnoringErrors() }
                try merge(child, into: target)
                continue
            }
            if existing != nil { try remove(name, in: destination) }
            switch status.type {
            case .regular:
                try copyFile(name, from: source, to: destination, permissions: status.permissions)
            case .symlink:
                try destination.makeSymlink(name, target: try source.readSymlink(name))
            default:
                try destination.makeNode(name, type: status.type, permissions: status.permissions,
                                         major: status.rdevMajor, minor: status.rdevMinor)
            }
        }
    }

    /// Copies a regular file's bytes with `copy_file_range(2)` (a reflink where the filesystem can).
    private static func copyFile(_ name: String, from source: FileDescriptor, to destination: FileDescriptor, permissions: UInt32) throws {
        let input = try FileDescriptor.open(name, [.readOnly, .noFollow], relativeTo: source)
        defer { input.closeIgnoringErrors() }
        let output = try FileDescriptor.open(name, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600, relativeTo: destination)
        defer { output.closeIgnoringErrors() }
        var offset: Int64 = 0
        while case let n = try output.copyFileRange(from: input, sourceOffset: offset, to: offset, length: 1 << 30), n > 0 {
            offset += Int64(n)
        }
        try output.changeMode(permissions: permissions)
    }

    /// Removes `name` from `directory`, descending into directories by descriptor (never following symlinks).
    private static func remove(_ name: String, in directory: FileDescriptor) throws {
        let status = try directory.status(of: name)
        guard status.type == .directory else {
            try directory.unlink(name)
            return
        }
        let child = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: directory)
        do {
            for entry in try child.entries() { try remove(entry.name, in: child) }
        } catch {
            child.closeIgnoringErrors()
            throw error
        }
        child.closeIgnoringErrors()
        try directory.unlink(name, directory: true)
    }
}
