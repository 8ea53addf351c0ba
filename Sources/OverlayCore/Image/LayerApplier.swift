import OverlaySystem

/// How layers are applied.
public struct LayerApplyOptions: Sendable, Equatable {
    /// For an overlay mounted in a user namespace (`userxattr`): opaque directories get
    /// `user.overlay.opaque`, and owners and devices the namespace cannot make are counted
    /// instead of failing the import.
    public var rootless = false

    public init(rootless: Bool = false) { self.rootless = rootless }

    /// The attribute that makes a directory opaque (`Documentation/filesystems/overlayfs.rst`).
    public var opaqueAttribute: String { rootless ? "user.overlay.opaque" : "trusted.overlay.opaque" }
}

/// Applies one layer tar to its own, initially empty, `diff` directory, as containerd's
/// `archive.Apply` does with its overlay whiteout converter (`archive/tar.go` `applyNaive`,
/// `createTarFile`, `mkparent`; `tar_opts_linux.go` `OverlayConvertWhiteout`):
///
/// - `.wh.NAME` becomes a 0/0 character device NAME (owned as the member says);
///   `.wh..wh..opq` marks its directory opaque; other `.wh..wh.` names are dropped;
/// - a member replaces what is at its name, except that a directory over a directory merges;
/// - a parent missing from the layer is created with the mode, owner, times and attributes of
///   the topmost earlier layer's directory of that name (0755, root's, when none has one);
/// - then owner, extended attributes, mode (after chown, which clears set-user-ID) and times;
///   directory times last, since creating entries inside changes them.
///
/// A layer is untrusted, so every name resolves beneath the layer root: names are cleaned as
/// `filepath.Clean("/" + name)` (`..` stops at the root, a leading `/` is the root), parents are
/// opened with `openat2(RESOLVE_IN_ROOT)`, so a symlink the layer planted earlier (`a -> /`,
/// `b -> ../../..`) resolves inside the layer as it would inside a container, and every call on
/// the last component is relative to that parent and follows no symlink (`O_NOFOLLOW`,
/// `AT_SYMLINK_NOFOLLOW`, `O_EXCL`). A symlink planted by an earlier layer is in that layer's
/// own directory and is never seen. A hard link's target resolves the same way, so it can only
/// name a file of this layer.
final class LayerApplier {
    private let root: FileDescriptor
    /// The root's path as the kernel resolves it, to turn a descriptor back into a layer path.
    private let resolvedRoot: String
    /// The layers below, top-first, where missing parents take their attributes from.
    private let lowerRoots: [FileDescriptor]
    private let options: LayerApplyOptions
    private let context: String
    private(set) var counts = LayerCounts()
    private var directoryTimes: [(path: [String], access: Timestamp, modification: Timestamp)] = []
    /// The last parent directory opened: members of one directory come together in a tar.
    private var cachedParent: (path: [String], descriptor: FileDescriptor)?

    /// `root` must be open with `O_PATH | O_DIRECTORY` (or readable); so must `lowerRoots`.
    init(root: FileDescriptor, lowerRoots: [FileDescriptor], options: LayerApplyOptions, context: String) throws {
        self.root = root
        self.lowerRoots = lowerRoots
        self.options = options
        self.context = context
        do {
            resolvedRoot = try FileDescriptor.currentWorkingDirectory.readSymlink("/proc/self/fd/\(root.rawValue)")
        } catch {
            throw ImageError.system(error, "\(context): resolve the layer root")
        }
    }

    deinit { cachedParent?.descriptor.closeIgnoringErrors() }

    // MARK: - Names

    /// The components of `name` beneath the root, and whether cleaning moved it there.
    static func components(_ name: String) -> (path: [String], contained: Bool) {
        var path: [String] = []
        var contained = name.hasPrefix("/")
        for component in name.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..":
                if path.isEmpty { contained = true } else { path.removeLast() }
            default: path.append(String(component))
            }
        }
        return (path, contained)
    }

    // MARK: - Applying members

    func apply(_ entry: TarEntry, from tar: TarReader) throws {
        counts.entries += 1
        let (path, contained) = Self.components(entry.name)
        if contained { counts.containedNames += 1 }
        // The root itself: containerd ignores it ("resolved to root"), and so does this.
        guard let base = path.last else { return }
        do {
            let parentPath = Array(path.dropLast())
            let parent = try parentDirectory(parentPath)
            if base.hasPrefix(".wh.") {
                try applyWhiteout(entry, base: base, parent: parent, parentPath: parentPath)
                return
            }
            switch entry.kind {
            case .regular: try makeFile(entry, base: base, parent: parent, tar: tar)
            case .directory: try makeDirectory(entry, base: base, parent: parent, path: path)
            case .symlink: try makeSymlink(entry, base: base, parent: parent)
            case .hardLink: try makeHardLink(entry, base: base, parent: parent)
            case .characterDevice, .blockDevice, .fifo: try makeNode(entry, base: base, parent: parent)
            }
        } catch let error as ImageError {
            throw error
        } catch let error as SystemError {
            throw ImageError.system(error, "\(context): \(entry.name)")
        }
    }

    /// Sets the directories' times, now that nothing more is created inside them.
    func finish() throws {
        for item in directoryTimes {
            do {
                let parent = try parentDirectory(Array(item.path.dropLast()), create: false)
                let base = item.path.last!
                guard let status = try? parent.status(of: base), status.type == .directory else { continue }
                try parent.setTimes(base, access: item.access, modification: item.modification)
            } catch let error as SystemError {
                if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory { continue }
                throw ImageError.system(error, "\(context): \(item.path.joined(separator: "/"))")
            }
        }
    }

    private func makeFile(_ entry: TarEntry, base: String, parent: FileDescriptor, tar: TarReader) throws {
        let flags: OpenFlags = [.writeOnly, .create, .exclusive, .noFollow]
        let file: FileDescriptor
        do {
            file = try FileDescriptor.open(base, flags, mode: 0o600, relativeTo: parent)
        } catch {
            if error.errno != .fileExists { throw error }
            try clear(base, in: parent, keepingDirectory: false)
            file = try FileDescriptor.open(base, flags, mode: 0o600, relativeTo: parent)
        }
        // Closed exactly once: on an error here, or by the checked close below. A second close
        // would close whatever descriptor another thread opened under the same number.
        do {
            var offset: Int64 = 0
            try tar.readData { chunk in
                try file.pwriteAll(chunk, at: offset)
                offset += Int64(chunk.count)
            }
            try setOwner(entry) { () throws(SystemError) in try file.changeOwner(uid: entry.uid, gid: entry.gid) }
            try setAttributes(entry, isRegularOrDirectory: true) { name, value throws(SystemError) in
                try ExtendedAttributes.set(name, value: value, descriptor: file)
            }
            try file.changeMode(permissions: entry.mode)
            try file.setTimes(access: accessTime(entry), modification: entry.modificationTime)
        } catch {
            file.closeIgnoringErrors()
            throw error
        }
        try file.closeChecked(path: entry.name)
        counts.files += 1
        counts.fileBytes += entry.size
    }

    private func makeDirectory(_ entry: TarEntry, base: String, parent: FileDescriptor, path: [String]) throws {
        do {
            try parent.makeDirectory(base, mode: 0o700)
        } catch {
            if error.errno != .fileExists { throw error }
            if !(try clear(base, in: parent, keepingDirectory: true)) { try parent.makeDirectory(base, mode: 0o700) }
        }
        counts.directories += 1
        try setOwner(entry) { () throws(SystemError) in try parent.changeOwner(base, uid: entry.uid, gid: entry.gid) }
        try setAttributes(entry, isRegularOrDirectory: true) { name, value throws(SystemError) in
            try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(base, in: parent))
        }
        try parent.changeMode(base, permissions: entry.mode)
        directoryTimes.append((path, accessTime(entry), entry.modificationTime))
    }

    private func makeSymlink(_ entry: TarEntry, base: String, parent: FileDescriptor) throws {
        do {
            try parent.makeSymlink(base, target: entry.linkName)
        } catch {
            if error.errno != .fileExists { throw error }
            try clear(base, in: parent, keepingDirectory: false)
            try parent.makeSymlink(base, target: entry.linkName)
        }
        counts.symlinks += 1
        try setOwner(entry) { () throws(SystemError) in try parent.changeOwner(base, uid: entry.uid, gid: entry.gid) }
        try setAttributes(entry, isRegularOrDirectory: false) { name, value throws(SystemError) in
            try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(base, in: parent))
        }
        try parent.setTimes(base, access: accessTime(entry), modification: entry.modificationTime)
    }

    private func makeHardLink(_ entry: TarEntry, base: String, parent: FileDescriptor) throws {
        let (target, _) = Self.components(entry.linkName)
        guard let targetBase = target.last else {
            throw ImageError(.malformed, "\(context): hard link \(entry.name) names the layer root")
        }
        let targetParent: FileDescriptor
        do {
            targetParent = try openBeneath(Array(target.dropLast()))
        } catch {
            throw ImageError(.malformed, "\(context): hard link \(entry.name) -> \(entry.linkName): the target is not in this layer (\(error.errno.name))")
        }
        defer { if targetParent != root { targetParent.closeIgnoringErrors() } }
        func link() throws(SystemError) { try targetParent.link(targetBase, to: base, in: parent) }
        do {
            try link()
        } catch {
            switch error.errno {
            case .fileExists:
                try clear(base, in: parent, keepingDirectory: false)
                try link()
            case .noSuchFileOrDirectory, .notPermitted:
                // EPERM: linkat(2) refuses a directory.
                throw ImageError(.malformed, "\(context): hard link \(entry.name) -> \(entry.linkName): the target is not a file of this layer (\(error.errno.name))")
            default:
                throw error
            }
        }
        counts.hardLinks += 1
        let status = try parent.status(of: base)
        try setOwner(entry) { () throws(SystemError) in try parent.changeOwner(base, uid: entry.uid, gid: entry.gid) }
        try setAttributes(entry, isRegularOrDirectory: status.type == .regular) { name, value throws(SystemError) in
            try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(base, in: parent))
        }
        if status.type != .symlink { try parent.changeMode(base, permissions: entry.mode) }
        try parent.setTimes(base, access: accessTime(entry), modification: entry.modificationTime)
    }

    private func makeNode(_ entry: TarEntry, base: String, parent: FileDescriptor) throws {
        let type: FileType = switch entry.kind {
        case .characterDevice: .characterDevice
        case .blockDevice: .blockDevice
        default: .fifo
        }
        func make() throws(SystemError) {
            try parent.makeNode(base, type: type, permissions: 0o600, major: entry.deviceMajor, minor: entry.deviceMinor)
        }
        do {
            try make()
        } catch {
            if error.errno == .fileExists {
                try clear(base, in: parent, keepingDirectory: false)
                try make()
            } else if options.rootless && type != .fifo && error.errno == .notPermitted {
                // A user namespace cannot make devices; containerd skips them there too (skipFile).
                counts.devicesSkipped += 1
                return
            } else {
                throw error
            }
        }
        if type == .fifo { counts.fifos += 1 } else { counts.devices += 1 }
        try setOwner(entry) { () throws(SystemError) in try parent.changeOwner(base, uid: entry.uid, gid: entry.gid) }
        try setAttributes(entry, isRegularOrDirectory: false) { name, value throws(SystemError) in
            try ExtendedAttributes.set(name, value: value, path: ExtendedAttributes.path(base, in: parent))
        }
        try parent.changeMode(base, permissions: entry.mode)
        try parent.setTimes(base, access: accessTime(entry), modification: entry.modificationTime)
    }

    private func applyWhiteout(_ entry: TarEntry, base: String, parent: FileDescriptor, parentPath: [String]) throws {
        if base == ".wh..wh..opq" {
            try ExtendedAttributes.set(options.opaqueAttribute, value: Array("y".utf8), path: "/proc/self/fd/\(parent.rawValue)/.")
            counts.opaqueDirectories += 1
            return
        }
        // Other `.wh..wh.` names are aufs's own bookkeeping (`.wh..wh.plnk`), never files.
        if base.hasPrefix(".wh..wh.") { return }
        let name = String(base.dropFirst(".wh.".count))
        guard !name.isEmpty, name != ".", name != ".." else {
            throw ImageError(.malformed, "\(context): invalid whiteout name \(entry.name)")
        }
        func make() throws(SystemError) { try parent.makeNode(name, type: .characterDevice, permissions: 0, major: 0, minor: 0) }
        do {
            try make()
        } catch {
            if error.errno != .fileExists { throw error }
            try clear(name, in: parent, keepingDirectory: false)
            try make()
        }
        counts.whiteouts += 1
        try setOwner(entry) { () throws(SystemError) in try parent.changeOwner(name, uid: entry.uid, gid: entry.gid) }
    }

    // MARK: - Metadata

    /// containerd's `latestTime(atime, mtime)`: the access time is never before the modification.
    private func accessTime(_ entry: TarEntry) -> Timestamp {
        guard let access = entry.accessTime else { return entry.modificationTime }
        let later = (access.seconds, access.nanoseconds) > (entry.modificationTime.seconds, entry.modificationTime.nanoseconds)
        return later ? access : entry.modificationTime
    }

    private func setOwner(_ entry: TarEntry, _ change: () throws(SystemError) -> Void) throws {
        do {
            try change()
        } catch {
            // In a user namespace an unmapped id is EINVAL, and without one, EPERM.
            guard options.rootless, error.errno == .invalidArgument || error.errno == .notPermitted else { throw error }
            counts.ownersNotApplied += 1
        }
    }

    /// Whether a layer's attribute is applied (see ``LayerCounts/ignoredXattrs``).
    static func acceptsAttribute(_ name: String) -> Bool {
        if name == "security.selinux" || name.hasPrefix("user.overlay.") { return false }
        return name.hasPrefix("user.") || name.hasPrefix("security.")
    }

    private func setAttributes(
        _ entry: TarEntry, isRegularOrDirectory: Bool, _ set: (String, [UInt8]) throws(SystemError) -> Void
    ) throws {
        for (name, value) in entry.xattrs {
            guard Self.acceptsAttribute(name) else {
                counts.ignoredXattrs += 1
                continue
            }
            do {
                try set(name, value)
            } catch {
                // user.* exists only on regular files and directories (xattr(7)); ENOTSUP is a
                // filesystem without that namespace. containerd ignores both, with a warning.
                let userOnSpecial = error.errno == .notPermitted && name.hasPrefix("user.") && !isRegularOrDirectory
                let rootlessSecurity = options.rootless && error.errno == .notPermitted
                guard error.errno == .notSupported || userOnSpecial || rootlessSecurity else { throw error }
                counts.ignoredXattrs += 1
            }
        }
    }

    // MARK: - Parents

    /// Removes what is at `base` unless it is a directory and `keepingDirectory`; returns whether
    /// a directory was kept.
    @discardableResult
    private func clear(_ base: String, in parent: FileDescriptor, keepingDirectory: Bool) throws -> Bool {
        let status: FileStatus
        do {
            status = try parent.status(of: base)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return false }
            throw error
        }
        if keepingDirectory && status.type == .directory { return true }
        // A removed directory may be the cached parent, or hold it.
        cachedParent?.descriptor.closeIgnoringErrors()
        cachedParent = nil
        try TreeRemover.remove(base, in: parent)
        return false
    }

    /// Opens `path` beneath the root as a directory (`O_PATH`), resolving symlinks as if the
    /// root were `/`. The root itself is returned as is.
    private func openBeneath(_ path: [String]) throws(SystemError) -> FileDescriptor {
        if path.isEmpty { return root }
        return try FileDescriptor.open(path.joined(separator: "/"), [.path, .directory], mode: 0, relativeTo: root,
                                       resolve: [.inRoot, .noMagicLinks])
    }

    /// The parent directory `path` (cached; not to be closed by the caller), created with
    /// ``makeParents(_:)`` when it is missing and `create`.
    private func parentDirectory(_ path: [String], create: Bool = true) throws -> FileDescriptor {
        if path.isEmpty { return root }
        if let cachedParent, cachedParent.path == path { return cachedParent.descriptor }
        let descriptor: FileDescriptor
        do {
            descriptor = try openBeneath(path)
        } catch {
            switch error.errno {
            case .noSuchFileOrDirectory where create:
                descriptor = try makeParents(path)
            case .notDirectory:
                throw ImageError(.malformed, "\(context): \(path.joined(separator: "/")) is used as a directory but is not one")
            default:
                throw error
            }
        }
        cachedParent?.descriptor.closeIgnoringErrors()
        cachedParent = (path, descriptor)
        return descriptor
    }

    /// Creates the missing directories of `path`, as containerd's `mkparent` does.
    private func makeParents(_ path: [String]) throws -> FileDescriptor {
        var current = root
        for index in path.indices {
            let next: FileDescriptor
            do {
                next = try openBeneath(Array(path[...index]))
            } catch {
                guard error.errno == .noSuchFileOrDirectory else {
                    if current != root { current.closeIgnoringErrors() }
                    if error.errno == .notDirectory {
                        throw ImageError(.malformed, "\(context): \(path[...index].joined(separator: "/")) is used as a directory but is not one")
                    }
                    throw error
                }
                do {
                    do {
                        try current.makeDirectory(path[index], mode: 0o755)
                    } catch {
                        // EEXIST after ENOENT: a dangling symlink; containerd would create its
                        // target's directories, this refuses the layer instead.
                        if error.errno != .fileExists { throw error }
                        throw ImageError(.malformed, "\(context): \(path[...index].joined(separator: "/")) is used as a directory but is a dangling symlink")
                    }
                    try current.changeMode(path[index], permissions: 0o755)
                    try copyLowerDirectory(path[index], in: current)
                    next = try FileDescriptor.open(path[index], [.path, .directory, .noFollow], relativeTo: current)
                } catch {
                    if current != root { current.closeIgnoringErrors() }
                    throw error
                }
            }
            if current != root { current.closeIgnoringErrors() }
            current = next
        }
        return current
    }

    /// Gives the new directory `name` the mode, owner, times and attributes of the topmost lower
    /// layer's directory at the same (resolved) path; stops at a lower non-directory, which
    /// replaced it.
    private func copyLowerDirectory(_ name: String, in parent: FileDescriptor) throws {
        guard !lowerRoots.isEmpty else { return }
        let parentPath = try FileDescriptor.currentWorkingDirectory.readSymlink("/proc/self/fd/\(parent.rawValue)")
        let relative = String(parentPath.dropFirst(resolvedRoot.count)) + "/" + name
        for lower in lowerRoots {
            let found: FileDescriptor
            do {
                found = try FileDescriptor.open(String(relative.drop { $0 == "/" }), [.path, .noFollow], mode: 0, relativeTo: lower,
                                                resolve: [.inRoot, .noMagicLinks])
            } catch {
                if error.errno == .noSuchFileOrDirectory { continue }
                if error.errno == .notDirectory { return }
                throw error
            }
            defer { found.closeIgnoringErrors() }
            let status = try found.status()
            guard status.type == .directory else { return }
            try parent.changeOwner(name, uid: status.uid, gid: status.gid)
            try parent.changeMode(name, permissions: status.permissions)
            let source = "/proc/self/fd/\(found.rawValue)/."
            for attribute in try ExtendedAttributes.list(path: source) where Self.acceptsAttribute(attribute) {
                if let value = try ExtendedAttributes.get(attribute, path: source) {
                    try ExtendedAttributes.set(attribute, value: value, path: ExtendedAttributes.path(name, in: parent))
                }
            }
            let components = relative.split(separator: "/").map(String.init)
            directoryTimes.append((components, status.accessTime, status.modificationTime))
            return
        }
    }
}
