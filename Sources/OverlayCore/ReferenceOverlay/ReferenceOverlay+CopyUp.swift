import OverlaySystem

// Copy-up, phase by phase, in the order of fs/overlayfs/copy_up.c: ancestors first (top-down),
// then a temporary in the work directory, data, xattrs, attributes, fsync, and an atomic install
// into upper. Until the install nothing is visible in upper, so a failed copy-up leaves at most
// a stray temporary in work.
extension ReferenceOverlay {
    /// Copies `path` (a merged path without symlinks) up to the upper layer unless it is there
    /// already, with its ancestors first; returns the entry as it is afterwards.
    ///
    /// Concurrent calls for one path copy once: the path's lock is held throughout, and whoever
    /// waited finds the upper file and returns it.
    @discardableResult
    public func copyUp(_ path: String, data: CopyUpData) throws(SystemError) -> MergedEntry {
        try copyUpAncestors(of: path)
        return try copyUpLocks.withLock(path) { () throws(SystemError) -> MergedEntry in
            let entry = try lookupPath(path)
            if entry.upper != nil {
                if entry.metacopy && data != .metadata { try copyUpMetacopyData(entry, truncated: data == .truncated) }
                return entry.metacopy && data != .metadata ? try lookupPath(path) : entry
            }
            try copyUpOne(entry, data: data)
            return try lookupPath(path)
        }
    }

    /// Every directory above `path` that is not in upper yet is copied up, from the top down
    /// (`ovl_copy_up_flags` walks up to the first upper ancestor, then copies down).
    func copyUpAncestors(of path: String) throws(SystemError) {
        // Creates upper directories: names that lookups may have recorded as absent.
        upperVerdicts.invalidate()
        defer { upperVerdicts.invalidate() }
        var parent = try rootEntry()
        for component in Self.components(parentPath(path)) {
            var entry = try lookup(component, in: parent)
            if entry.upper == nil {
                entry = try copyUpLocks.withLock(entry.path) { () throws(SystemError) -> MergedEntry in
                    let current = try lookup(component, in: parent)
                    if current.upper == nil { try copyUpOne(current, data: .metadata) }
                    return try lookup(component, in: parent)
                }
            }
            guard entry.isDirectory else { throw SystemError("copy-up", path: path, errno: .notDirectory) }
            parent = entry
        }
    }

    /// Copies one lower-only entry whose parent is already in upper (`ovl_copy_up_one`).
    func copyUpOne(_ entry: MergedEntry, data: CopyUpData) throws(SystemError) {
        guard let source = entry.lowers.first else { throw SystemError("copy-up", path: entry.path, errno: .noSuchFileOrDirectory) }
        let isRegular = source.status.type == .regular
        let upperParent = try upperLayer.open(parentPath(entry.path), [.path, .directory])
        var context = CopyUpContext(
            path: entry.path, name: lastComponent(entry.path), source: source, sourceLayer: layers[source.layer],
            upperParent: upperParent,
            metacopy: isRegular && data == .metadata && options.metacopy,
            length: data == .truncated ? 0 : source.status.size)
        defer { context.close() }
        try prepareTemporary(&context)
        try copyData(&context)
        try copyXattrs(&context)
        try copyAttributes(&context)
        try syncTemporary(&context)
        try install(&context)
    }

    // MARK: - Phases

    /// An `O_TMPFILE` in work for a regular file (`ovl_copy_up_tmpfile`); a named temporary in
    /// work for the rest (`ovl_copy_up_workdir`), created with no permissions until
    /// ``copyAttributes(_:)`` sets them.
    func prepareTemporary(_ context: inout CopyUpContext) throws(SystemError) {
        switch context.status.type {
        case .regular:
            context.temporary = try FileDescriptor.open(".", [.temporaryFile, .readWrite], mode: 0o600, relativeTo: work)
        case .directory:
            let name = temporaryName()
            try work.makeDirectory(name, mode: 0o700)
            context.temporaryName = name
            context.temporary = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: work)
        case .symlink:
            let name = temporaryName()
            try work.makeSymlink(name, target: try context.sourceLayer.readSymlink(context.source.path))
            context.temporaryName = name
        case let type:
            let name = temporaryName()
            try work.makeNode(name, type: type, permissions: 0,
                              major: context.status.rdevMajor, minor: context.status.rdevMinor)
            context.temporaryName = name
        }
    }

    /// The data, through the copy engine, holes skipped (the kernel seeks `SEEK_DATA` before
    /// each chunk). A metacopy gets only its size, as a hole (`ovl_set_size`).
    func copyData(_ context: inout CopyUpContext) throws(SystemError) {
        guard context.usesTmpfile, let destination = context.temporary else { return }
        if context.metacopy {
            try destination.truncate(to: context.status.size, path: context.path)
            return
        }
        guard context.length > 0 else { return }
        let source = try context.sourceLayer.open(context.source.path, [.readOnly])
        defer { source.closeIgnoringErrors() }
        let length = context.length
        _ = try engines.withEngine(path: context.path) { engine in
            // fsync waits for syncTemporary(_:), after the attributes, as since 6.12.
            try engine.copy(from: source, to: destination, length: length, options: CopyOptions(skipHoles: true, fsync: false))
        }
    }

    /// Every xattr except the overlay's private `trusted.overlay.*` ones; after the data,
    /// because writing data clears `security.capability`. A metacopy is marked with an empty
    /// `trusted.overlay.metacopy`, as `ovl_set_metacopy_xattr` writes without a digest.
    func copyXattrs(_ context: inout CopyUpContext) throws(SystemError) {
        let names = try context.sourceLayer.withAttributePath(context.source.path) { path throws(SystemError) in
            var pairs: [(String, [UInt8])] = []
            for name in try ExtendedAttributes.list(path: path) where !OverlayXattr.isPrivate(name) {
                if let value = try ExtendedAttributes.get(name, path: path) { pairs.append((name, value)) }
            }
            return pairs
        }
        var attributes = names
        if context.metacopy { attributes.append((OverlayXattr.metacopy, [])) }
        for (name, value) in attributes {
            if let fd = context.temporary {
                try ExtendedAttributes.set(name, value: value, descriptor: fd)
            } else if let temporaryName = context.temporaryName {
                try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(temporaryName, in: work))
            }
        }
    }

    /// Owner, mode, then times. The owner goes first: a `chown(2)` clears set-user-ID bits,
    /// which the kernel's in-kernel `notify_change` order does not.
    func copyAttributes(_ context: inout CopyUpContext) throws(SystemError) {
        let status = context.status
        if let fd = context.temporary {
            try fd.changeOwner(uid: status.uid, gid: status.gid)
            try fd.changeMode(permissions: status.permissions)
            try fd.setTimes(access: status.accessTime, modification: status.modificationTime)
        } else if let name = context.temporaryName {
            try work.changeOwner(name, uid: status.uid, gid: status.gid)
            if status.type != .symlink { try work.changeMode(name, permissions: status.permissions) }
            try work.setTimes(name, access: status.accessTime, modification: status.modificationTime)
        }
    }

    /// One fsync after data and metadata, unless `volatile` or a metacopy: since 6.12 the
    /// kernel syncs after the metadata copy so the copy is durable before it is installed
    /// ("ovl: fsync after metadata copy-up").
    func syncTemporary(_ context: inout CopyUpContext) throws(SystemError) {
        guard !options.isVolatile, !context.metacopy, let fd = context.temporary else { return }
        try fd.fsync(path: context.path)
    }

    /// Atomically into upper: `linkat(AT_EMPTY_PATH)` of the `O_TMPFILE`, or `rename` of the
    /// named temporary (`RENAME_NOREPLACE`: a name that appeared meanwhile is an error).
    func install(_ context: inout CopyUpContext) throws(SystemError) {
        upperVerdicts.invalidate()
        defer { upperVerdicts.invalidate() }
        if context.usesTmpfile, let fd = context.temporary {
            try fd.link("", to: context.name, in: context.upperParent, emptyPath: true)
        } else if let name = context.temporaryName {
            try work.rename(name, to: context.name, in: context.upperParent, noReplace: true)
        }
    }

    /// The data of a metacopy upper file, on its first open for write or truncate
    /// (`ovl_copy_up_meta_inode_data`): copied into the upper file in place, synced, and then
    /// the `trusted.overlay.metacopy` mark removed.
    func copyUpMetacopyData(_ entry: MergedEntry, truncated: Bool) throws(SystemError) {
        guard let upper = entry.upper, let lower = entry.lowers.first else { return }
        if !truncated && lower.status.size > 0 {
            let destination = try upperLayer.open(upper.path, [.writeOnly])
            defer { destination.closeIgnoringErrors() }
            let source = try layers[lower.layer].open(lower.path, [.readOnly])
            defer { source.closeIgnoringErrors() }
            let length = min(lower.status.size, upper.status.size)
            let fsync = !options.isVolatile
            _ = try engines.withEngine(path: entry.path) { engine in
                try engine.copy(from: source, to: destination, length: length, options: CopyOptions(skipHoles: true, fsync: fsync))
            }
            // The engine trims the file to the data it copied; the size belongs to the upper inode.
            if try destination.status().size != upper.status.size { try destination.truncate(to: upper.status.size) }
        }
        try upperLayer.withAttributePath(upper.path) { path throws(SystemError) in
            try ExtendedAttributes.remove(OverlayXattr.metacopy, path: path)
        }
    }
}
