import OverlaySystem

/// The directory OverlayBench owns: every tree, mount point and loop image lives below it.
///
/// A marker file tells our own work roots from anyone else's directory. OverlayBench refuses `/`,
/// the home directory, any path that goes through a symlink, and any non-empty directory that
/// lacks the marker; it deletes only inside a work root, with ``TreeRemover``.
public struct WorkRoot: Sendable {
    public static let markerName = ".overlaybench-workroot"
    public static let defaultPath = "/var/tmp/overlaybench"

    /// The absolute, symlink-free path.
    public let path: String

    /// Opens (creating if needed) the work root at `path`, enforcing the safety rules above.
    public static func prepare(_ path: String) throws(WorkRootError) -> WorkRoot {
        guard path.hasPrefix("/") else { throw .refused(path, "must be an absolute path") }
        if path.contains("\n") { throw .refused(path, "contains a newline, which /proc/self/mountinfo cannot represent unambiguously") }
        let normalized = Self.normalize(path)
        if normalized == "/" { throw .refused(path, "is the root directory") }
        if let home = Host.environment("HOME"), Self.normalize(home) == normalized {
            throw .refused(path, "is the home directory")
        }
        for protected in ["/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/proc", "/root", "/run",
                          "/sbin", "/sys", "/tmp", "/usr", "/var", "/var/tmp", "/opt", "/srv", "/mnt", "/media"]
        where normalized == protected {
            throw .refused(path, "is a system directory")
        }
        // Walk every prefix: none may be a symlink (realpath would silently follow one).
        var prefix = ""
        for component in normalized.split(separator: "/") {
            prefix += "/" + component
            guard let status = try? FileDescriptor.currentWorkingDirectory.status(of: prefix) else { break }
            if status.type == .symlink { throw .refused(path, "goes through a symlink at \(prefix)") }
            if status.type != .directory { throw .refused(path, "\(prefix) is not a directory") }
        }
        let marker = normalized + "/" + markerName
        if let status = FileSystem.status(normalized) {
            guard status.type == .directory else { throw .refused(path, "is not a directory") }
            let contents: [String]
            do { contents = try FileSystem.entries(normalized) } catch { throw .refused(path, "cannot be listed: \(error)") }
            if !contents.isEmpty && !contents.contains(markerName) {
                throw .refused(path, "is a non-empty directory that OverlayBench did not create (no \(markerName) marker)")
            }
        } else {
            // The work root's own missing parents are made too (it is the tool's directory, and
            // every prefix was checked above not to be a symlink).
            var prefix = ""
            for component in normalized.split(separator: "/") {
                prefix += "/" + component
                do { try FileSystem.makeDirectory(prefix, mode: 0o755) } catch { throw .cannotCreate(path, error.description) }
            }
        }
        if !FileSystem.exists(marker) {
            let text = "This directory is an OverlayBench work root. `overlaybench cleanup --work-root \(normalized)` removes what is in it.\n"
            do { try FileSystem.writeAtomically(Array(text.utf8), to: marker, replacing: false) } catch {
                throw .cannotCreate(path, "cannot write the marker file: \(error)")
            }
        }
        return WorkRoot(path: normalized)
    }

    /// Collapses `//`, `.` and `..` textually (no symlink resolution; symlinks are refused instead).
    static func normalize(_ path: String) -> String {
        var parts: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch component {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Creates a fresh run directory with a random name: `run-<pid>-<random>`.
    public func makeRunDirectory() throws(WorkRootError) -> String {
        let name = "run-\(Host.processID)-\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
        let path = self.path + "/" + name
        do {
            try FileDescriptor.currentWorkingDirectory.makeDirectory(path, mode: 0o755)
        } catch {
            throw .cannotCreate(path, error.description)
        }
        return path
    }

    /// Whether `path` lies strictly inside this work root.
    public func contains(_ path: String) -> Bool {
        let normalized = Self.normalize(path)
        return normalized.hasPrefix(self.path + "/")
    }

    /// Removes a tree inside the work root after checking nothing is mounted in it.
    public func remove(_ path: String) throws {
        guard contains(path) else { throw WorkRootError.refused(path, "is outside the work root \(self.path)") }
        let mounted = MountTable.current().mounts(under: path)
        if !mounted.isEmpty {
            throw WorkRootError.refused(path, "still has \(mounted.count) mount(s) below it, e.g. \(mounted[0].mountPoint)")
        }
        try TreeRemover.remove(path)
    }
}

public enum WorkRootError: Error, CustomStringConvertible, Sendable {
    case refused(String, String)
    case cannotCreate(String, String)

    public var description: String {
        switch self {
        case .refused(let path, let why): "work root \(path) refused: it \(why)"
        case .cannotCreate(let path, let why): "cannot create \(path): \(why)"
        }
    }
}
