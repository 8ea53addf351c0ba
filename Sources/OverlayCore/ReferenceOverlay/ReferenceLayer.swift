import OverlaySystem

/// One layer directory of the reference overlay, held open as an `O_PATH|O_DIRECTORY`
/// descriptor. Every path inside it is resolved relative to that descriptor with
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS` (`openat2(2)`), so neither `..` nor a symlink inside
/// the layer can lead out of it: the overlay resolves symlinks itself, in the merged namespace.
struct ReferenceLayer {
    /// 0 is the upper layer; 1… are the lower layers, top-first.
    let index: Int
    let path: String
    let root: FileDescriptor
    /// Where ``directory(_:)`` finds directories already open.
    let directories: DirectorySource

    /// The caches of open directories: the upper layer's lookup cache, or the one shared by the
    /// lower layers.
    enum DirectorySource {
        case upper(UpperLookupCache)
        case lower(LowerDirectoryCache)
    }

    var isUpper: Bool { index == 0 }

    static let confined: ResolveFlags = [.beneath, .noSymlinks, .noMagicLinks]

    init(index: Int, path: String, directories: DirectorySource) throws(SystemError) {
        self.index = index
        self.path = path
        self.directories = directories
        root = try FileDescriptor.open(path, [.path, .directory])
    }

    /// Opens `relative` (a layer path without symlinks; "" is the root) with `flags`: beneath
    /// its parent when that is open already, else beneath the root.
    func open(_ relative: String, _ flags: OpenFlags, mode: UInt32 = 0) throws(SystemError) -> FileDescriptor {
        if relative.contains("/") {
            return try withParent(relative) { directory, name throws(SystemError) in
                try FileDescriptor.open(name, flags.union(.noFollow), mode: mode, relativeTo: directory, resolve: Self.confined)
            }
        }
        return try FileDescriptor.open(relative.isEmpty ? "." : relative, flags.union(.noFollow), mode: mode,
                                relativeTo: root, resolve: Self.confined)
    }

    /// The directory `relative` open `O_PATH`, from the layer's cache of open directories.
    func directory(_ relative: String) throws(SystemError) -> DirectoryHandle {
        if relative.isEmpty { return DirectoryHandle(borrowing: root) }
        let openDirectory = { () throws(SystemError) -> FileDescriptor in
            try FileDescriptor.open(relative, [.path, .directory, .noFollow], mode: 0, relativeTo: root, resolve: Self.confined)
        }
        switch directories {
        case .upper(let cache): return try cache.directory(relative, since: cache.ticket(), open: openDirectory)
        case .lower(let cache): return try cache.directory(relative, layer: index, open: openDirectory)
        }
    }

    /// Runs `body` with the parent directory of `relative`, open `O_PATH`, and the last
    /// component's name.
    func withParent<T>(_ relative: String, _ body: (FileDescriptor, String) throws(SystemError) -> T) throws(SystemError) -> T {
        guard let slash = relative.lastIndex(of: "/") else { return try body(root, relative) }
        let handle = try directory(String(relative[..<slash]))
        // The handle, not the cache, keeps the descriptor open until `body` is done with it.
        defer { withExtendedLifetime(handle) {} }
        return try body(handle.descriptor, String(relative[relative.index(after: slash)...]))
    }

    /// `statx(2)` of `relative`, not following a final symlink; nil when nothing is there.
    func status(_ relative: String) throws(SystemError) -> FileStatus? {
        if relative.isEmpty { return try root.status() }
        do {
            return try withParent(relative) { directory, name throws(SystemError) in try directory.status(of: name) }
        } catch {
            if error.errno == .noSuchFileOrDirectory || error.errno == .notDirectory { return nil }
            throw error
        }
    }

    /// The value of the extended attribute `name` of `relative`, or nil.
    func attribute(_ name: String, of relative: String) throws(SystemError) -> [UInt8]? {
        if relative.isEmpty { return try ExtendedAttributes.get(name, path: "/proc/self/fd/\(root.rawValue)/.") }
        return try withParent(relative) { directory, last throws(SystemError) in
            try ExtendedAttributes.get(name, path: ExtendedAttributes.path(last, in: directory))
        }
    }

    /// The `/proc/self/fd` path of `relative`'s parent and name, for the `l*xattr` calls.
    func withAttributePath<T>(_ relative: String, _ body: (String) throws(SystemError) -> T) throws(SystemError) -> T {
        if relative.isEmpty { return try body("/proc/self/fd/\(root.rawValue)/.") }
        return try withParent(relative) { directory, last throws(SystemError) in
            try body(ExtendedAttributes.path(last, in: directory))
        }
    }

    /// Every entry of the directory `relative`.
    func entries(_ relative: String) throws(SystemError) -> [DirectoryEntry] {
        let fd = try open(relative, [.readOnly, .directory])
        defer { fd.closeIgnoringErrors() }
        return try fd.entries()
    }

    /// The target of the symlink `relative`.
    func readSymlink(_ relative: String) throws(SystemError) -> String {
        try withParent(relative) { directory, name throws(SystemError) in try directory.readSymlink(name) }
    }

    func close() { root.closeIgnoringErrors() }
}

/// The kernel's private xattrs (`trusted.overlay.*`, fs/overlayfs/overlayfs.h).
enum OverlayXattr {
    static let prefix = "trusted.overlay."
    static let opaque = "trusted.overlay.opaque"
    static let whiteout = "trusted.overlay.whiteout"
    static let redirect = "trusted.overlay.redirect"
    static let metacopy = "trusted.overlay.metacopy"

    static func isPrivate(_ name: String) -> Bool { name.hasPrefix(prefix) }
}

/// Joins merged or layer paths ("" is the root).
func joinPath(_ parent: String, _ name: String) -> String { parent.isEmpty ? name : parent + "/" + name }

/// The parent part of a merged path ("" for a top-level name).
func parentPath(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[..<slash])
}

/// The last component of a merged path.
func lastComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}
