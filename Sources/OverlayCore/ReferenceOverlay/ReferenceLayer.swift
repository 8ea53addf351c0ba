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

    var isUpper: Bool { index == 0 }

    static let confined: ResolveFlags = [.beneath, .noSymlinks, .noMagicLinks]

    init(index: Int, path: String) throws(SystemError) {
        self.index = index
        self.path = path
        root = try FileDescriptor.open(path, [.path, .directory])
    }

    /// Opens `relative` (a layer path without symlinks; "" is the root) with `flags`.
    func open(_ relative: String, _ flags: OpenFlags, mode: UInt32 = 0) throws(SystemError) -> FileDescriptor {
        // openat2(2) refuses a mode without O_CREAT or O_TMPFILE.
        let creates = flags.contains(.create) || flags.contains(.temporaryFile)
        return try FileDescriptor.open(relative.isEmpty ? "." : relative, flags.union(.noFollow), mode: creates ? mode : 0,
                                relativeTo: root, resolve: Self.confined)
    }

    /// The directory that holds `relative`, open `O_PATH`, and the last component's name. The
    /// caller closes the descriptor unless it is ``root``.
    func parent(of relative: String) throws(SystemError) -> (directory: FileDescriptor, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return (root, relative) }
        let directory = try open(String(relative[..<slash]), [.path, .directory])
        return (directory, String(relative[relative.index(after: slash)...]))
    }

    /// Runs `body` with the parent directory of `relative` and the last component's name.
    func withParent<T>(_ relative: String, _ body: (FileDescriptor, String) throws(SystemError) -> T) throws(SystemError) -> T {
        let (directory, name) = try parent(of: relative)
        defer { if directory != root { directory.closeIgnoringErrors() } }
        return try body(directory, name)
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
