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
        try copyUp(path, data: data, parent: nil)
    }

    /// ``copyUp(_:data:)`` with the merged parent a resolution already found: when that is in
    /// upper, the ancestors need no walk.
    func copyUp(_ path: String, data: CopyUpData, parent known: MergedEntry?) throws(SystemError) -> MergedEntry {
        let parent: MergedEntry
        if let known, known.upper != nil, known.path == parentPath(path) {
            parent = known
        } else {
            parent = try copyUpAncestors(of: path)
        }
        guard !path.isEmpty else { return try rootEntry() }
        let name = lastComponent(path)
        return try copyUpLocks.withLock(path) { () throws(SystemError) -> MergedEntry in
            let entry = try lookup(name, in: parent)
            guard entry.exists else { throw SystemError("copy-up", path: path, errno: .noSuchFileOrDirectory) }
            if entry.upper != nil {
                guard entry.metacopy && data != .metadata else { return entry }
                try copyUpMetacopyData(entry, truncated: data == .truncated)
                return try lookup(name, in: parent)
            }
            if let copied = try copyUpOne(entry, data: data) { return copied }
            return try lookup(name, in: parent)
        }
    }

    /// Every directory above `path` that is not in upper yet is copied up, from the top down
    /// (`ovl_copy_up_flags` walks up to the first upper ancestor, then copies down); returns
    /// `path`'s parent, now in upper.
    @discardableResult
    func copyUpAncestors(of path: String) throws(SystemError) -> MergedEntry {
        // Only a lookup passes through the root here: its status is not needed.
        var parent = try rootEntry(liveStatus: false)
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
        return parent
    }

    /// Copies one lower-only entry whose parent is already in upper (`ovl_copy_up_one`).
    /// Returns the entry as a lookup would now find it when that is known without one: a
    /// regular file copied whole is its upper file alone. Otherwise nil.
    @discardableResult
    func copyUpOne(_ entry: MergedEntry, data: CopyUpData) throws(SystemError) -> MergedEntry? {
        guard let source = entry.lowers.first else { throw SystemError("copy-up", path: entry.path, errno: .noSuchFileOrDirectory) }
        let isRegular = source.status.type == .regular
        let upperParent = try upperLayer.directory(parentPath(entry.path))
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
        guard context.usesTmpfile, !context.metacopy, let installed = context.temporary else { return nil }
        var upper = MergedEntry(path: entry.path)
        upper.upper = LayerEntry(layer: 0, path: entry.path, status: try installed.status())
        return upper
    }

    // MARK: - Phases

    /// An `O_TMPFILE` in work for a regular file (`ovl_copy_up_tmpfile`); a named temporary in
    /// work for the rest (`ovl_copy_up_workdir`), created with no permissions until
    /// ``copyAttributes(_:)`` sets them.
    func prepareTemporary(_ context: inout CopyUpContext) throws(SystemError) {
        switch context.status.type {
        case .regular:
            // With the source's permission bits (less the umask): it has no name until it is
            // installed, and usually copyAttributes(_:) then has no mode to change.
            context.temporary = try FileDescriptor.open(
                ".", [.temporaryFile, .readWrite], mode: context.status.permissions & 0o777, relativeTo: work)
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

    /// The data: first a clone, as `ovl_copy_up_file` tries `vfs_clone_file_range` before any
    /// copy loop (on xfs with `reflink=1` or btrfs the copy-up is then O(1) and shares extents);
    /// else through the copy engine, io_uring by default, holes skipped (the kernel seeks
    /// `SEEK_DATA` before each chunk). A metacopy gets only its size, as a hole (`ovl_set_size`).
    func copyData(_ context: inout CopyUpContext) throws(SystemError) {
        guard context.usesTmpfile, let destination = context.temporary else { return }
        if context.metacopy {
            try destination.truncate(to: context.status.size, path: context.path)
            return
        }
        guard context.length > 0 else { return }
        let source = try context.sourceLayer.open(context.source.path, [.readOnly])
        context.sourceFile = source
        if context.length == context.status.size, cloneWhole(source, fromLayer: context.source.layer, into: destination) { return }
        let length = context.length
        // The lower layers do not change, so the lookup's status stands for the source's.
        let options = CopyOptions(skipHoles: true, fsync: false, sourceStatus: context.status)
        _ = try engines.withEngine(path: context.path) { engine in
            // fsync waits for syncTemporary(_:), after the attributes, as since 6.12.
            try engine.copy(from: source, to: destination, length: length, options: options)
        }
    }

    /// Every xattr except the overlay's private `trusted.overlay.*` ones; after the data,
    /// because writing data clears `security.capability`. A metacopy is marked with an empty
    /// `trusted.overlay.metacopy`, as `ovl_set_metacopy_xattr` writes without a digest.
    func copyXattrs(_ context: inout CopyUpContext) throws(SystemError) {
        var names: [(String, [UInt8])] = []
        if let source = context.sourceFile {
            // The data phase opened the source: read its xattrs through that descriptor.
            for name in try ExtendedAttributes.list(descriptor: source) where !OverlayXattr.isPrivate(name) {
                if let value = try ExtendedAttributes.get(name, descriptor: source) { names.append((name, value)) }
            }
        } else {
            names = try context.sourceLayer.withAttributePath(context.source.path) { path throws(SystemError) in
                var pairs: [(String, [UInt8])] = []
                for name in try ExtendedAttributes.list(path: path) where !OverlayXattr.isPrivate(name) {
                    if let value = try ExtendedAttributes.get(name, path: path) { pairs.append((name, value)) }
                }
                return pairs
            }
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
            // Each change is a journalled inode update, so only what differs from how the
            // temporary was made is changed; the mode after the owner, which clears set-ID bits.
            let made = try fd.status()
            let ownerDiffers = made.uid != status.uid || made.gid != status.gid
            if ownerDiffers { try fd.changeOwner(uid: status.uid, gid: status.gid) }
            if ownerDiffers || made.permissions != status.permissions { try fd.changeMode(permissions: status.permissions) }
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
        // All it changes in upper is the one new name.
        upperCache.beginChange()
        defer { upperCache.endChange(adding: context.path) }
        if context.usesTmpfile, let fd = context.temporary {
            try fd.link("", to: context.name, in: context.upperParent.descriptor, emptyPath: true)
        } else if let name = context.temporaryName {
            try work.rename(name, to: context.name, in: context.upperParent.descriptor, noReplace: true)
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
            if try source.status().size == length, cloneWhole(source, fromLayer: lower.layer, into: destination) {
                if fsync { try destination.fsync() }
            } else {
                _ = try engines.withEngine(path: entry.path) { engine in
                    try engine.copy(from: source, to: destination, length: length, options: CopyOptions(skipHoles: true, fsync: fsync))
                }
            }
            // The engine trims the file to the data it copied; the size belongs to the upper inode.
            if try destination.status().size != upper.status.size { try destination.truncate(to: upper.status.size) }
        }
        try upperLayer.withAttributePath(upper.path) { path throws(SystemError) in
            try ExtendedAttributes.remove(OverlayXattr.metacopy, path: path)
        }
    }

    /// `FICLONE` of all of `source` into `destination`, which `ovl_copy_up_file` tries before
    /// any copy loop; false, with a lasting refusal remembered, where the layers cannot share
    /// extents.
    func cloneWhole(_ source: FileDescriptor, fromLayer layer: Int, into destination: FileDescriptor) -> Bool {
        guard cloneRefusals.mayClone(fromLayer: layer) else { return false }
        do {
            try destination.cloneContents(of: source)
            return true
        } catch {
            cloneRefusals.note(error.errno, fromLayer: layer)
            return false
        }
    }
}
