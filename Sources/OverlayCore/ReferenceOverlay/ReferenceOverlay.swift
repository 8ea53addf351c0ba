import Foundation
import OverlaySystem

/// An overlay filesystem in user space that does what fs/overlayfs does, on the same upper,
/// work and lower directories, so its results can be compared with the kernel's operation by
/// operation (the differential tests) and its copy-up timed beside the kernel's.
///
/// Every layer root is held open as an `O_PATH` descriptor and every path inside a layer is
/// resolved beneath it without following symlinks (``ReferenceLayer``). Symlinks are resolved by
/// the overlay itself in the merged namespace with `RESOLVE_IN_ROOT` semantics: an absolute
/// target starts again at the merged root and `..` stops there, so a symlink planted in a layer
/// (`evil -> /etc`) can never reach outside the layers.
///
/// Errors are ``SystemError``s carrying the errno the kernel overlay returns for the same call.
///
/// Concurrency: namespace changes (create, remove, rename, attribute changes) are serialized by
/// one lock; copy-ups of different files run in parallel, and concurrent copy-ups of one file
/// happen once (``CopyUpLockTable``).
public final class ReferenceOverlay: @unchecked Sendable {
    public let options: ReferenceOverlayOptions
    public let upperPath: String
    public let workPath: String
    public let lowerPaths: [String]

    /// Upper first, then the lower layers top-first: `layers[i].index == i`.
    let layers: [ReferenceLayer]
    let work: FileDescriptor
    let copyUpLocks = CopyUpLockTable()
    let engines: CopyEnginePool
    /// Lower layers whose files cannot be cloned into upper (copy-up then copies).
    let cloneRefusals = CloneRefusals()
    /// What lookups found in the lower layers, which do not change while the overlay is open.
    let lowerIndex: LowerLayerIndex
    /// Names the upper layer lacks or whites out, and its open directories, until the next
    /// namespace change.
    let upperCache = UpperLookupCache()
    /// The lower layers' open directories.
    let lowerDirectories = LowerDirectoryCache()
    /// The upper root's status when the overlay was opened (see ``rootEntry(liveStatus:)``).
    let upperRootStatus: FileStatus
    let namespaceLock = NSRecursiveLock()
    private let counterLock = NSLock()
    private var counter: UInt64 = 0

    /// The symlinks one path walk may follow before `ELOOP` (the kernel's `MAXSYMLINKS`).
    static let maximumSymlinks = 40

    /// Opens the layers. `lower` is top-first, as in `lowerdir=`.
    public init(lower: [String], upper: String, work: String, options: ReferenceOverlayOptions = .init()) throws {
        guard !lower.isEmpty else { throw SystemError("reference overlay: no lower layer", errno: .invalidArgument) }
        self.options = options
        upperPath = upper
        workPath = work
        lowerPaths = lower
        engines = try CopyEnginePool(identifier: options.copyEngine)
        var opened: [ReferenceLayer] = []
        var rootLowers: [LayerEntry] = []
        let rootStatus: FileStatus
        do {
            opened.append(try ReferenceLayer(index: 0, path: upper, directories: .upper(upperCache)))
            rootStatus = try opened[0].root.status()
            for (i, path) in lower.enumerated() {
                let layer = try ReferenceLayer(index: i + 1, path: path, directories: .lower(lowerDirectories))
                opened.append(layer)
                rootLowers.append(LayerEntry(layer: layer.index, path: "", status: try layer.root.status()))
            }
            self.work = try FileDescriptor.open(work, [.path, .directory])
        } catch {
            for layer in opened { layer.close() }
            throw error
        }
        layers = opened
        upperRootStatus = rootStatus
        lowerIndex = LowerLayerIndex(rootLowers: rootLowers)
    }

    deinit {
        for layer in layers { layer.close() }
        work.closeIgnoringErrors()
    }

    /// Forgets what lookups learned: the lower walks (``LowerLayerIndex``), the upper layer's
    /// verdicts, marks and open directories (``UpperLookupCache``) and the open lower directories
    /// (``LowerDirectoryCache``), so the next lookup reads the layers as a freshly opened overlay
    /// does. What stays is what a kernel mount pins: the layer roots, open, and their statuses.
    /// A cold sample calls it before dropping the kernel's caches, so the directories it lets
    /// go of are dropped too.
    public func dropLookupCaches() {
        lowerIndex.removeAll()
        upperCache.removeAll()
        lowerDirectories.removeAll()
    }

    var upperLayer: ReferenceLayer { layers[0] }
    var lowerLayers: ArraySlice<ReferenceLayer> { layers[1...] }

    /// A fresh name for a temporary in the work directory, `#<hex>` as the kernel names them.
    func temporaryName() -> String {
        counterLock.lock()
        defer { counterLock.unlock() }
        counter += 1
        return "#ref\(String(counter, radix: 16))"
    }

    func withNamespaceLock<T>(_ body: () throws(SystemError) -> T) throws(SystemError) -> T {
        namespaceLock.lock()
        upperCache.beginChange()
        defer {
            upperCache.endChange()
            namespaceLock.unlock()
        }
        return try body()
    }

    // MARK: - Lookup (fs/overlayfs/namei.c)

    /// The merged root: the upper root over every lower root (those from ``lowerIndex``).
    /// `liveStatus: false` leaves the upper root's status as it was when the overlay was opened,
    /// for a walk that only passes through the root (``resolve(_:followFinal:)`` refreshes it
    /// before a root entry leaves it).
    func rootEntry(liveStatus: Bool = true) throws(SystemError) -> MergedEntry {
        var root = MergedEntry(path: "")
        root.upper = LayerEntry(layer: 0, path: "", status: liveStatus ? try upperLayer.root.status() : upperRootStatus)
        root.lowers = lowerIndex.root.found
        root.lowerSlice = LowerSlice(walk: 0, count: root.lowers.count)
        return root
    }

    /// `entry` with its upper status read again if it is the merged root.
    func refreshedRoot(_ entry: MergedEntry) throws(SystemError) -> MergedEntry {
        guard entry.path.isEmpty else { return entry }
        var root = entry
        root.upper?.status = try upperLayer.root.status()
        return root
    }

    /// Looks `name` up in the merged directory `parent`, as `ovl_lookup` does: upper first, then
    /// each lower directory of the parent. It stops at a whiteout, at a non-directory, and at an
    /// opaque directory; directories go on through every layer.
    func lookup(_ name: String, in parent: MergedEntry) throws(SystemError) -> MergedEntry {
        var entry = MergedEntry(path: joinPath(parent.path, name))
        var isDirectory = false
        var stop = false
        var lowerName = name
        var absoluteRedirect: String?

        if let parentUpper = parent.upper {
            let path = joinPath(parentUpper.path, name)
            let (verdict, ticket) = upperCache.verdict(path)
            let status: FileStatus?
            switch verdict {
            case .absent?:
                status = nil
            case .whiteout?:
                entry.opaque = true
                entry.upperWhiteout = true
                return entry
            case nil:
                status = try upperLayer.status(path)
                if status == nil {
                    upperCache.record(.absent, for: path, since: ticket)
                } else if status?.isWhiteoutDevice == true {
                    upperCache.record(.whiteout, for: path, since: ticket)
                }
            }
            if let status {
                if status.isWhiteoutDevice {
                    entry.opaque = true
                    entry.upperWhiteout = true
                    stop = true
                } else {
                    entry.upper = LayerEntry(layer: 0, path: path, status: status)
                    if status.type == .directory {
                        isDirectory = true
                        if try upperMark(OverlayXattr.opaque, of: path, since: ticket)?.first == UInt8(ascii: "y") {
                            entry.opaque = true
                            stop = true
                        }
                    } else if status.type == .regular, try upperLayer.attribute(OverlayXattr.metacopy, of: path) != nil {
                        entry.metacopy = true
                    } else {
                        stop = true
                    }
                    if !stop, options.redirectDir, let value = try upperMark(OverlayXattr.redirect, of: path, since: ticket) {
                        let redirect = String(decoding: value, as: UTF8.self)
                        entry.redirect = redirect
                        if redirect.hasPrefix("/") { absoluteRedirect = String(redirect.dropFirst()) } else { lowerName = redirect }
                    }
                }
            }
        }
        guard !stop else { return entry }

        // What the lower layers hold does not change, so their walk comes from the index; the
        // upper layer's verdict above decides how much of it the entry takes.
        let walk = try lowerWalk(parent, lowerName: lowerName, absoluteRedirect: absoluteRedirect)
        var taken = 0
        for found in walk.found {
            if found.status.type != .directory {
                // Below a directory a non-directory ends the merge; a metacopy needs a regular file.
                if isDirectory || (entry.metacopy && found.status.type != .regular) { break }
                taken += 1
                break
            }
            if entry.metacopy { break }
            isDirectory = true
            taken += 1
        }
        // Usually the whole walk: then the array is shared, not copied.
        entry.lowers = taken == walk.found.count ? walk.found : Array(walk.found[..<taken])
        if let id = walk.id { entry.lowerSlice = LowerSlice(walk: id, count: taken) }
        return entry
    }

    /// An opaque or redirect mark of the upper directory `path`, through ``upperCache``.
    func upperMark(_ name: String, of path: String, since ticket: UpperLookupCache.Ticket) throws(SystemError) -> [UInt8]? {
        try upperCache.mark(name, of: path, since: ticket) { () throws(SystemError) in try upperLayer.attribute(name, of: path) }
    }

    /// The lower walk for `lowerName` in `parent`'s lower directories (or, for an absolute
    /// redirect, from every lower root), from ``lowerIndex`` or walked now.
    func lowerWalk(_ parent: MergedEntry, lowerName: String, absoluteRedirect: String?) throws(SystemError) -> LowerLayerIndex.Walk {
        // An absolute redirect restarts in every lower layer from its root (`poe = roe`).
        if let absoluteRedirect {
            return try lowerIndex.walk(.absolute(absoluteRedirect)) { () throws(SystemError) in
                try walkLowers(lowerLayers.map { ($0, absoluteRedirect) })
            }
        }
        let candidates = { parent.lowers.map { (self.layers[$0.layer], joinPath($0.path, lowerName)) } }
        guard let slice = parent.lowerSlice, slice.count == parent.lowers.count else {
            return LowerLayerIndex.Walk(id: nil, found: try walkLowers(candidates()))
        }
        return try lowerIndex.walk(.child(parent: slice, name: lowerName)) { () throws(SystemError) in
            try walkLowers(candidates())
        }
    }

    /// Looks a name up in each candidate lower directory from the top (the lower half of
    /// `ovl_lookup`): the entries found, ending at a non-directory, an opaque directory, a
    /// whiteout (not included) or the last candidate.
    func walkLowers(_ candidates: [(layer: ReferenceLayer, path: String)]) throws(SystemError) -> [LayerEntry] {
        var found: [LayerEntry] = []
        for (layer, path) in candidates {
            guard let status = try layer.status(path) else { continue }
            if try isWhiteout(layer, path, status) { break }
            found.append(LayerEntry(layer: layer.index, path: path, status: status))
            if status.type != .directory { break }
            if try opaqueValue(layer, path) == "y" { break }
        }
        return found
    }

    /// Looks up a merged path that holds no symlinks (one a resolution returned).
    func lookupPath(_ path: String) throws(SystemError) -> MergedEntry {
        var entry = try rootEntry()
        for component in path.split(separator: "/") {
            guard entry.isDirectory else { throw SystemError("lookup", path: path, errno: .notDirectory) }
            entry = try lookup(String(component), in: entry)
            guard entry.exists else { throw SystemError("lookup", path: path, errno: .noSuchFileOrDirectory) }
        }
        return entry
    }

    /// A whiteout: a 0/0 character device, or in a lower layer a zero-size regular file with
    /// `trusted.overlay.whiteout` whose directory is marked `trusted.overlay.opaque=x` (kernel 6.7+).
    func isWhiteout(_ layer: ReferenceLayer, _ path: String, _ status: FileStatus) throws(SystemError) -> Bool {
        if status.isWhiteoutDevice { return true }
        guard !layer.isUpper, status.type == .regular, status.size == 0 else { return false }
        guard try opaqueValue(layer, parentPath(path)) == "x" else { return false }
        return try layer.attribute(OverlayXattr.whiteout, of: path) != nil
    }

    /// The first byte of `trusted.overlay.opaque` as a character ("y", "x"), or nil.
    func opaqueValue(_ layer: ReferenceLayer, _ path: String) throws(SystemError) -> Character? {
        guard let value = try layer.attribute(OverlayXattr.opaque, of: path), let first = value.first else { return nil }
        return Character(Unicode.Scalar(first))
    }

    // MARK: - Path resolution (RESOLVE_IN_ROOT in the merged namespace)

    /// Where a path leads: the merged directory that holds the last name, the name, and what
    /// the name is (``MergedEntry/exists`` is false for a name to create).
    public struct Resolution: Sendable {
        public var parent: MergedEntry
        public var name: String
        public var entry: MergedEntry
        /// The merged path of ``entry``.
        public var path: String { entry.path }
    }

    /// Resolves `path` from the merged root, following symlinks in the merged namespace;
    /// `followFinal` follows a symlink in the last component too. Absolute targets restart at
    /// the merged root and `..` never climbs above it. Throws `ENOENT` for a missing
    /// intermediate directory, `ENOTDIR` for a non-directory one and `ELOOP` after
    /// ``maximumSymlinks`` links.
    /// `liveParent: false` skips re-reading the root's status when the root is only the parent:
    /// callers that use the entry alone (stat, lookup) save that syscall.
    public func resolve(_ path: String, followFinal: Bool, liveParent: Bool = true) throws(SystemError) -> Resolution {
        let root = try rootEntry(liveStatus: false)
        var stack = [root]
        var pending = Array(Self.components(path).reversed())
        var links = 0
        while let name = pending.popLast() {
            let isLast = pending.isEmpty
            if name == "." { continue }
            if name == ".." {
                if stack.count > 1 { stack.removeLast() }
                continue
            }
            let directory = stack[stack.count - 1]
            let child = try lookup(name, in: directory)
            if child.type == .symlink, !isLast || followFinal {
                links += 1
                guard links <= Self.maximumSymlinks else { throw SystemError("resolve", path: path, errno: .tooManySymbolicLinkLevels) }
                let target = try readSymlink(child)
                guard !target.isEmpty else { throw SystemError("resolve", path: path, errno: .noSuchFileOrDirectory) }
                if target.hasPrefix("/") { stack = [root] }
                pending.append(contentsOf: Self.components(target).reversed())
                continue
            }
            if isLast { return Resolution(parent: liveParent ? try refreshedRoot(directory) : directory, name: name, entry: child) }
            guard child.exists else { throw SystemError("resolve", path: path, errno: .noSuchFileOrDirectory) }
            guard child.isDirectory else { throw SystemError("resolve", path: path, errno: .notDirectory) }
            stack.append(child)
        }
        // The walk ended on a directory: "", ".", ".." or a link to a directory.
        let entry = stack[stack.count - 1]
        let parent = stack.count > 1 ? stack[stack.count - 2] : root
        return Resolution(parent: try refreshedRoot(parent), name: lastComponent(entry.path), entry: try refreshedRoot(entry))
    }

    static func components(_ path: String) -> [String] {
        path.split(separator: "/").map(String.init)
    }

    func readSymlink(_ entry: MergedEntry) throws(SystemError) -> String {
        guard let top = entry.top else { throw SystemError("readlink", path: entry.path, errno: .noSuchFileOrDirectory) }
        return try layers[top.layer].readSymlink(top.path)
    }

    /// Resolves `path` and requires it to exist.
    func existing(_ path: String, followFinal: Bool, _ operation: String, liveParent: Bool = true) throws(SystemError) -> Resolution {
        let resolution = try resolve(path, followFinal: followFinal, liveParent: liveParent)
        guard resolution.entry.exists else { throw SystemError(operation, path: path, errno: .noSuchFileOrDirectory) }
        return resolution
    }

    // MARK: - Reading

    /// What `path` is, as a merged lookup finds it: the attributes of the upper entry, else of
    /// the topmost lower one (`ovl_getattr`). `followSymlinks: false` is `lstat`.
    public func lookup(_ path: String, followSymlinks: Bool = false) throws(SystemError) -> MergedEntry {
        try existing(path, followFinal: followSymlinks, "lookup", liveParent: false).entry
    }

    /// `stat(2)`/`lstat(2)` of a merged path.
    public func status(of path: String, followSymlinks: Bool = false) throws(SystemError) -> FileStatus {
        try existing(path, followFinal: followSymlinks, "statx", liveParent: false).entry.status!
    }

    /// `readlink(2)`.
    public func readSymlink(_ path: String) throws(SystemError) -> String {
        let entry = try existing(path, followFinal: false, "readlink").entry
        guard entry.type == .symlink else { throw SystemError("readlink", path: path, errno: .invalidArgument) }
        return try readSymlink(entry)
    }

    /// The names in the merged directory `path` (following symlinks), `.` and `..` left out:
    /// upper then each lower directory, each name once, whiteouts hidden (`ovl_iterate`).
    public func directoryEntries(_ path: String) throws(SystemError) -> [String] {
        let entry = try existing(path, followFinal: true, "opendir").entry
        guard entry.isDirectory else { throw SystemError("opendir", path: path, errno: .notDirectory) }
        // A directory from one layer only is read as it is, whiteouts included, as the kernel
        // reads a directory without OVL_WHITEOUTS (`ovl_dir_is_real`).
        let isReal = (entry.upper == nil ? 0 : 1) + entry.lowers.count == 1
        return try mergedNames(entry, raw: isReal)
    }

    /// The names of a merged directory, each once; `raw: false` hides whiteouts, as
    /// `ovl_dir_read_merged` does for reading and for the emptiness check of rmdir and rename.
    func mergedNames(_ entry: MergedEntry, raw: Bool) throws(SystemError) -> [String] {
        var seen = Set<String>()
        var names: [String] = []
        for part in [entry.upper].compactMap({ $0 }) + entry.lowers {
            let layer = layers[part.layer]
            for child in try layer.entries(part.path) where seen.insert(child.name).inserted {
                if raw {
                    names.append(child.name)
                    continue
                }
                let childPath = joinPath(part.path, child.name)
                if child.type == .characterDevice || child.type == .regular || child.type == nil,
                   let status = try layer.status(childPath), try isWhiteout(layer, childPath, status) {
                    continue
                }
                names.append(child.name)
            }
        }
        return names
    }

    /// The extended attributes of `path` (not following a final symlink), private
    /// `trusted.overlay.*` ones left out (`ovl_listxattr`).
    public func extendedAttributes(of path: String) throws(SystemError) -> [(name: String, value: [UInt8])] {
        let entry = try existing(path, followFinal: false, "listxattr").entry
        let top = entry.top!
        return try layers[top.layer].withAttributePath(top.path) { attributePath throws(SystemError) in
            var result: [(name: String, value: [UInt8])] = []
            for name in try ExtendedAttributes.list(path: attributePath) where !OverlayXattr.isPrivate(name) {
                if let value = try ExtendedAttributes.get(name, path: attributePath) { result.append((name, value)) }
            }
            return result
        }
    }

    // MARK: - Open

    /// `open(2)` of a merged path; returns a descriptor of the real file.
    ///
    /// Write access or `O_TRUNC` copies the file up at open time, even if nothing is written,
    /// as the kernel does; `O_CREAT` creates in upper (copying up the parent's chain first).
    /// Reads open the topmost layer's file (a metacopy's lower data).
    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32 = 0o644) throws(SystemError) -> FileDescriptor {
        let creating = flags.contains(.create)
        let exclusive = creating && flags.contains(.exclusive)
        let resolution = try resolve(path, followFinal: !exclusive)
        var entry = resolution.entry
        if !entry.exists {
            guard creating else { throw SystemError("open", path: path, errno: .noSuchFileOrDirectory) }
            return try withNamespaceLock { () throws(SystemError) in
                try createFile(resolution, flags: flags, mode: mode)
            }
        }
        if exclusive { throw SystemError("open", path: path, errno: .fileExists) }
        if entry.isDirectory && (creating || flags.wantsWrite) {
            throw SystemError("open", path: path, errno: .isDirectory)
        }
        let realFlags = flags.subtracting([.create, .exclusive])
        if flags.wantsWrite {
            entry = try copyUp(entry.path, data: flags.contains(.truncate) ? .truncated : .full, parent: resolution.parent)
        }
        guard let target = flags.wantsWrite ? entry.upper : entry.data else {
            throw SystemError("open", path: path, errno: .noSuchFileOrDirectory)
        }
        return try layers[target.layer].open(target.path, realFlags, mode: mode)
    }
}
