import OverlaySystem

// Creating, removing and renaming names, as fs/overlayfs/dir.c does it: the parent's chain is
// copied up first; a name that hides a lower one is replaced by a whiteout when it goes; a
// directory made where a lower one was deleted is opaque.
extension ReferenceOverlay {
    // MARK: - Create

    /// `mkdir(2)`.
    public func makeDirectory(_ path: String, mode: UInt32 = 0o755) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let resolution = try resolve(path, followFinal: false)
            guard !resolution.entry.exists else { throw SystemError("mkdir", path: path, errno: .fileExists) }
            try createObject(resolution, operation: "mkdir") { directory, name throws(SystemError) in
                try directory.makeDirectory(name, mode: mode)
            }
        }
    }

    /// `symlink(2)`: `path` pointing at `target`.
    public func makeSymlink(_ path: String, target: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let resolution = try resolve(path, followFinal: false)
            guard !resolution.entry.exists else { throw SystemError("symlink", path: path, errno: .fileExists) }
            try createObject(resolution, operation: "symlink") { directory, name throws(SystemError) in
                try directory.makeSymlink(name, target: target)
            }
        }
    }

    /// `link(2)`, not following a final symlink in `from`; a lower file is copied up first.
    public func link(_ from: String, to: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let source = try existing(from, followFinal: false, "link")
            let destination = try resolve(to, followFinal: false)
            guard !destination.entry.exists else { throw SystemError("link", path: to, errno: .fileExists) }
            guard !source.entry.isDirectory else { throw SystemError("link", path: from, errno: .notPermitted) }
            let upper = try copyUp(source.path, data: .metadata).upper!
            try upperLayer.withParent(upper.path) { sourceDirectory, sourceName throws(SystemError) in
                try createObject(destination, operation: "link") { directory, name throws(SystemError) in
                    try sourceDirectory.link(sourceName, to: name, in: directory)
                }
            }
        }
    }

    /// `open(O_CREAT)` of a name that does not exist; returns the new file open with `flags`.
    func createFile(_ resolution: Resolution, flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        var created: FileDescriptor?
        try createObject(resolution, operation: "open") { directory, name throws(SystemError) in
            created = try FileDescriptor.open(name, flags.union([.create, .exclusive, .noFollow]), mode: mode, relativeTo: directory)
        }
        return created!
    }

    /// Creates one object with `make` in the upper copy of `resolution.parent`
    /// (`ovl_create_object`). Over an upper whiteout it is made in work and moved over the
    /// whiteout, and a directory there becomes opaque (`ovl_create_over_whiteout`), so the
    /// lower directory it replaces cannot show through.
    func createObject(
        _ resolution: Resolution, operation: String,
        _ make: (FileDescriptor, String) throws(SystemError) -> Void
    ) throws(SystemError) {
        let parentPath = resolution.parent.path
        guard resolution.parent.isDirectory else { throw SystemError(operation, path: parentPath, errno: .notDirectory) }
        try copyUpAncestors(of: joinPath(parentPath, "x"))
        let parent = try lookupPath(parentPath)
        let entry = try lookup(resolution.name, in: parent)
        let path = joinPath(parentPath, resolution.name)
        try upperLayer.withParent(path) { directory, name throws(SystemError) in
            if entry.upperWhiteout {
                let temporary = temporaryName()
                try make(work, temporary)
                let isDirectory = try work.status(of: temporary).type == .directory
                if isDirectory {
                    try ExtendedAttributes.set(OverlayXattr.opaque, value: Array("y".utf8), path: ExtendedAttributes.path(temporary, in: work))
                    // A directory cannot be renamed over the whiteout's device node.
                    try directory.unlink(name)
                }
                try work.rename(temporary, to: name, in: directory)
            } else {
                try make(directory, name)
                // With redirect_dir=on a directory may later be renamed over one below, so a
                // new directory in a merged one is marked opaque at once (the "optimization" in
                // `ovl_create_upper`); without it 6.18 leaves the mark off, as the differential
                // tests show.
                if options.redirectDir, parent.isMergedDirectory, try directory.status(of: name).type == .directory {
                    try ExtendedAttributes.set(OverlayXattr.opaque, value: Array("y".utf8), path: ExtendedAttributes.path(name, in: directory))
                }
            }
        }
    }

    // MARK: - Remove

    /// `unlink(2)`.
    public func unlink(_ path: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let resolution = try existing(path, followFinal: false, "unlink")
            guard !resolution.entry.isDirectory else { throw SystemError("unlink", path: path, errno: .isDirectory) }
            try remove(resolution, isDirectory: false)
        }
    }

    /// `rmdir(2)`.
    public func removeDirectory(_ path: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let resolution = try existing(path, followFinal: false, "rmdir")
            guard resolution.entry.isDirectory else { throw SystemError("rmdir", path: path, errno: .notDirectory) }
            guard !resolution.entry.path.isEmpty else { throw SystemError("rmdir", path: path, errno: .resourceBusy) }
            try remove(resolution, isDirectory: true)
        }
    }

    /// `ovl_do_remove`: a merged directory must be empty in the merged view; the parent is
    /// copied up; the name goes, and a whiteout takes its place when a lower layer has it.
    func remove(_ resolution: Resolution, isDirectory: Bool) throws(SystemError) {
        let entry = resolution.entry
        let lowerPositive = try isLowerPositive(entry, in: resolution.parent)
        if isDirectory && (lowerPositive || !entry.isPureUpper) {
            guard try mergedNames(entry, raw: false).isEmpty else { throw SystemError("rmdir", path: entry.path, errno: .directoryNotEmpty) }
        }
        try copyUpAncestors(of: entry.path)
        let current = try lookupPath(entry.path)
        if let upper = current.upper {
            if isDirectory && !current.isPureUpper { try clearWhiteouts(upper.path) }
            try upperLayer.withParent(upper.path) { directory, name throws(SystemError) in
                try directory.unlink(name, directory: isDirectory)
            }
        }
        if lowerPositive { try makeWhiteout(entry.path) }
    }

    /// Whether a lower layer has `entry`'s name (`ovl_lower_positive`): with nothing in upper
    /// it does; else the first lower directory of the parent that has the name decides, and a
    /// whiteout there means no.
    func isLowerPositive(_ entry: MergedEntry, in parent: MergedEntry) throws(SystemError) -> Bool {
        if !entry.exists { return entry.upperWhiteout }
        if entry.upper == nil { return true }
        let name = lastComponent(entry.path)
        for directory in parent.lowers {
            let layer = layers[directory.layer]
            let path = joinPath(directory.path, name)
            if let status = try layer.status(path) { return try !isWhiteout(layer, path, status) }
        }
        return false
    }

    /// A 0/0 character device at `path` in upper, made in work and renamed into place (over a
    /// non-directory that is there).
    func makeWhiteout(_ path: String) throws(SystemError) {
        let temporary = temporaryName()
        try work.makeNode(temporary, type: .characterDevice, permissions: 0)
        try upperLayer.withParent(path) { directory, name throws(SystemError) in
            try work.rename(temporary, to: name, in: directory)
        }
    }

    /// Removes the whiteouts from an upper directory that is empty in the merged view, so the
    /// directory itself can go (`ovl_clear_empty`).
    func clearWhiteouts(_ path: String) throws(SystemError) {
        let directory = try upperLayer.open(path, [.path, .directory])
        defer { directory.closeIgnoringErrors() }
        for child in try upperLayer.entries(path) {
            if try directory.status(of: child.name).isWhiteoutDevice { try directory.unlink(child.name) }
        }
    }

    // MARK: - Rename

    /// `rename(2)` (replacing `to` if it exists), with the kernel's checks in its order: the
    /// VFS ones first (types, a directory into itself), then overlay's: a directory that is not
    /// purely upper moves only with `redirect_dir=on` (else `EXDEV`), and a merged target
    /// directory must be empty.
    public func rename(_ from: String, to: String) throws(SystemError) {
        try withNamespaceLock { () throws(SystemError) in
            let source = try resolve(from, followFinal: false)
            let target = try resolve(to, followFinal: false)
            guard source.entry.exists else { throw SystemError("rename", path: from, errno: .noSuchFileOrDirectory) }
            let old = source.entry
            let new = target.entry
            if old.path == new.path { return }
            if old.path.isEmpty || new.path.isEmpty { throw SystemError("rename", path: from, errno: .resourceBusy) }
            // lock_rename's trap: the source above the target's parent, or the target above the source.
            if (new.path + "/").hasPrefix(old.path + "/") { throw SystemError("rename", path: from, errno: .invalidArgument) }
            if (old.path + "/").hasPrefix(new.path + "/") { throw SystemError("rename", path: to, errno: .directoryNotEmpty) }
            let isDirectory = old.isDirectory
            if new.exists {
                if let a = old.upper, let b = new.upper, a.status.inode == b.status.inode,
                   a.status.deviceMajor == b.status.deviceMajor, a.status.deviceMinor == b.status.deviceMinor {
                    return  // two links to one inode: vfs_rename does nothing
                }
                if isDirectory && !new.isDirectory { throw SystemError("rename", path: to, errno: .notDirectory) }
                if !isDirectory && new.isDirectory { throw SystemError("rename", path: to, errno: .isDirectory) }
            }
            if isDirectory && !options.redirectDir && !old.isPureUpper {
                throw SystemError("rename", path: from, errno: .crossDeviceLink)
            }
            if new.exists && new.isDirectory && !new.isPureUpper {
                guard try mergedNames(new, raw: false).isEmpty else { throw SystemError("rename", path: to, errno: .directoryNotEmpty) }
            }
            try renameCopiedUp(source, target, isDirectory: isDirectory)
        }
    }

    /// The part of `ovl_rename` after the checks: copy-ups, redirect or opaque marks, the move
    /// in upper, and a whiteout where a lower layer still has the old name.
    private func renameCopiedUp(_ source: Resolution, _ target: Resolution, isDirectory: Bool) throws(SystemError) {
        // A directory moving with redirect_dir=on is copied up alone; its contents stay below
        // and are found through the redirect.
        var old = try copyUp(source.path, data: .metadata)
        try copyUpAncestors(of: joinPath(target.parent.path, "x"))
        let oldParent = try lookupPath(source.parent.path)
        old = try lookup(source.name, in: oldParent)
        let newParent = try lookupPath(target.parent.path)
        let new = try lookup(target.name, in: newParent)
        let lowerPositive = try isLowerPositive(old, in: oldParent)
        let samedir = source.parent.path == target.parent.path
        let oldUpper = old.upper!

        if old.lowers.isEmpty == false && (isDirectory || old.metacopy) {
            try setRedirect(old, samedir: samedir)
        } else if isDirectory && !old.opaque && newParent.isMergedDirectory {
            // Unlike mkdir, a move into a merged directory is marked opaque whatever
            // redirect_dir says: a lower directory of the same name must not show through.
            try upperLayer.withAttributePath(oldUpper.path) { path throws(SystemError) in
                try ExtendedAttributes.set(OverlayXattr.opaque, value: Array("y".utf8), path: path)
            }
        }
        if new.upperWhiteout && isDirectory {
            // A directory cannot replace a device node; the kernel exchanges and then removes it.
            try upperLayer.withParent(new.path) { directory, name throws(SystemError) in try directory.unlink(name) }
        } else if let upper = new.upper, upper.status.type == .directory, !new.isPureUpper {
            try clearWhiteouts(upper.path)
        }
        let sourceDirectory = try upperLayer.open(parentPath(oldUpper.path), [.path, .directory])
        defer { sourceDirectory.closeIgnoringErrors() }
        try upperLayer.withParent(new.path) { directory, name throws(SystemError) in
            try sourceDirectory.rename(lastComponent(oldUpper.path), to: name, in: directory)
        }
        if lowerPositive { try makeWhiteout(old.path) }
    }

    /// `ovl_set_redirect`: where the moved entry's lower part lives, as a name in the same
    /// directory or an absolute path from the layer roots; an existing absolute one is kept.
    private func setRedirect(_ entry: MergedEntry, samedir: Bool) throws(SystemError) {
        let absolute = !samedir || entry.type == .regular
        if let existing = entry.redirect, !absolute || existing.hasPrefix("/") { return }
        let value: String
        if absolute {
            value = "/" + (entry.lowers.first?.path ?? entry.path)
        } else {
            value = lastComponent(entry.lowers.first?.path ?? entry.path)
        }
        try upperLayer.withAttributePath(entry.upper!.path) { path throws(SystemError) in
            try ExtendedAttributes.set(OverlayXattr.redirect, value: Array(value.utf8), path: path)
        }
    }
}
