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
    /// Overlay's private attributes, never carried into a tree that is not an overlay layer.
    static let overlayAttributePrefix = "trusted.overlay."

    /// How a layer is applied.
    public struct Options: Sendable, Hashable {
        /// Regular files are cloned (`ioctl(FICLONE)`) where source and target share a filesystem
        /// that can, and copied with `copy_file_range(2)` where it refuses.
        public var reflink: Bool
        /// Owners, modes, modification times and extended attributes (except overlay's own
        /// `trusted.overlay.*`) follow the layer's, as `docker load` applies a layer; a directory
        /// the layer merges into takes the layer's attributes, as overlay shows the topmost one.
        public var preservesMetadata: Bool

        public init(reflink: Bool = false, preservesMetadata: Bool = false) {
            self.reflink = reflink
            self.preservesMetadata = preservesMetadata
        }

        /// What the plain backend has always done: bytes copied, modes kept.
        public static let copy = Options()
    }

    /// What applying a layer did, for a backend's setup facts.
    public struct Applied: Sendable, Hashable {
        /// Regular files that share their extents with the layer's (FICLONE).
        public var clonedFiles = 0
        /// Regular files whose bytes were copied.
        public var copiedFiles = 0
        /// Names a whiteout deleted.
        public var deletions = 0
        /// Directories an opaque directory replaced.
        public var opaqueReplacements = 0

        public init() {}

        public static func + (lhs: Applied, rhs: Applied) -> Applied {
            var sum = lhs
            sum.clonedFiles += rhs.clonedFiles
            sum.copiedFiles += rhs.copiedFiles
            sum.deletions += rhs.deletions
            sum.opaqueReplacements += rhs.opaqueReplacements
            return sum
        }
    }

    /// Applies the layer directory `layer` onto the directory `target`.
    @discardableResult
    public static func apply(_ layer: String, onto target: String, options: Options = .copy) throws -> Applied {
        let source = try FileDescriptor.open(layer, [.readOnly, .directory, .noFollow])
        defer { source.closeIgnoringErrors() }
        let destination = try FileDescriptor.open(target, [.readOnly, .directory, .noFollow])
        defer { destination.closeIgnoringErrors() }
        var applied = Applied()
        try merge(source, into: destination, options: options, applied: &applied)
        if options.preservesMetadata {
            // The layer's root is the merged tree's root: its attributes win too.
            try copyAttributes(of: source, onto: destination, status: try source.status(), replacing: true)
        }
        return applied
    }

    private static func merge(_ source: FileDescriptor, into destination: FileDescriptor, options: Options, applied: inout Applied) throws {
        for entry in try source.entries() {
            let name = entry.name
            let status = try source.status(of: name)
            var existing = try? destination.status(of: name)
            if status.isWhiteoutDevice {
                if existing != nil {
                    try remove(name, in: destination)
                    applied.deletions += 1
                }
                continue
            }
            if status.type == .directory {
                let opaque = try ExtendedAttributes.get(opaqueAttribute, path: ExtendedAttributes.path(name, in: source)) == Array("y".utf8)
                if let current = existing, current.type != .directory || opaque {
                    try remove(name, in: destination)
                    if opaque && current.type == .directory { applied.opaqueReplacements += 1 }
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
                try merge(child, into: target, options: options, applied: &applied)
                // After the children, whose creation moved the directory's mtime.
                if options.preservesMetadata { try copyAttributes(of: child, onto: target, status: status, replacing: true) }
                continue
            }
            if existing != nil { try remove(name, in: destination) }
            switch status.type {
            case .regular:
                try copyFile(name, from: source, to: destination, status: status, options: options, applied: &applied)
            case .symlink:
                try destination.makeSymlink(name, target: try source.readSymlink(name))
                if options.preservesMetadata {
                    // Symlinks have no mode of their own; owner, xattrs and times are the link's.
                    try destination.changeOwner(name, uid: status.uid, gid: status.gid)
                    try copyAttributes(from: ExtendedAttributes.path(name, in: source), to: ExtendedAttributes.path(name, in: destination))
                    try destination.setTimes(name, access: status.accessTime, modification: status.modificationTime)
                }
            default:
                try destination.makeNode(name, type: status.type, permissions: status.permissions,
                                         major: status.rdevMajor, minor: status.rdevMinor)
                if options.preservesMetadata {
                    try destination.changeOwner(name, uid: status.uid, gid: status.gid)
                    try destination.changeMode(name, permissions: status.permissions)
                    try copyAttributes(from: ExtendedAttributes.path(name, in: source), to: ExtendedAttributes.path(name, in: destination))
                    try destination.setTimes(name, access: status.accessTime, modification: status.modificationTime)
                }
            }
        }
    }

    /// Clones a regular file where asked and possible, otherwise copies its bytes with
    /// `copy_file_range(2)` (itself a reflink on some filesystems).
    private static func copyFile(
        _ name: String, from source: FileDescriptor, to destination: FileDescriptor, status: FileStatus, options: Options,
        applied: inout Applied
    ) throws {
        let input = try FileDescriptor.open(name, [.readOnly, .noFollow], relativeTo: source)
        defer { input.closeIgnoringErrors() }
        let output = try FileDescriptor.open(name, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o600, relativeTo: destination)
        defer { output.closeIgnoringErrors() }
        var cloned = false
        if options.reflink {
            do {
                try output.cloneContents(of: input)
                cloned = true
            } catch {
                // Another filesystem (EXDEV), or one without reflinks (EOPNOTSUPP, EINVAL): copy.
                guard [.crossDeviceLink, .notSupported, .invalidArgument].contains(error.errno) else { throw error }
            }
        }
        if cloned {
            applied.clonedFiles += 1
        } else {
            var offset: Int64 = 0
            while case let n = try output.copyFileRange(from: input, sourceOffset: offset, to: offset, length: 1 << 30), n > 0 {
                offset += Int64(n)
            }
            applied.copiedFiles += 1
        }
        if options.preservesMetadata {
            // Owner before mode: chown clears the set-user-ID and set-group-ID bits.
            try output.changeOwner(uid: status.uid, gid: status.gid)
            try output.changeMode(permissions: status.permissions)
            try copyAttributes(of: input, onto: output, status: nil, replacing: false)
            try output.setTimes(access: status.accessTime, modification: status.modificationTime)
        } else {
            try output.changeMode(permissions: status.permissions)
        }
    }

    /// Gives the open `target` the extended attributes of the open `source` (but overlay's own)
    /// and, with a `status`, its owner, mode and times. `replacing` first removes what `target`
    /// has and `source` lacks: a merged directory shows only the topmost layer's attributes.
    private static func copyAttributes(of source: FileDescriptor, onto target: FileDescriptor, status: FileStatus?, replacing: Bool) throws {
        let names = try ExtendedAttributes.list(descriptor: source).filter { !$0.hasPrefix(overlayAttributePrefix) }
        if replacing {
            for name in try ExtendedAttributes.list(descriptor: target) where !names.contains(name) && !name.hasPrefix(overlayAttributePrefix) {
                try ExtendedAttributes.remove(name, descriptor: target)
            }
        }
        for name in names {
            if let value = try ExtendedAttributes.get(name, descriptor: source) {
                try ExtendedAttributes.set(name, value: value, descriptor: target)
            }
        }
        if let status {
            try target.changeOwner(uid: status.uid, gid: status.gid)
            try target.changeMode(permissions: status.permissions)
            try target.setTimes(access: status.accessTime, modification: status.modificationTime)
        }
    }

    /// The extended attributes of `source` (a path that is not followed) onto `target`, but overlay's own.
    private static func copyAttributes(from source: String, to target: String) throws {
        for name in try ExtendedAttributes.list(path: source) where !name.hasPrefix(overlayAttributePrefix) {
            if let value = try ExtendedAttributes.get(name, path: source) {
                try ExtendedAttributes.set(name, value: value, path: target)
            }
        }
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
