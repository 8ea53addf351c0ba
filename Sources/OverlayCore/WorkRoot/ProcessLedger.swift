import OverlaySystem
import Synchronization

/// A state file of the helper processes a run started (fuse-overlayfs daemons), kept in the work
/// root so that after a SIGKILL or a crash `overlaybench cleanup` can stop exactly those
/// processes, by PID, and nothing else.
///
/// One line per process: `pid<TAB>executable<TAB>mount point`. A line is appended (and fsynced)
/// as soon as the process is spawned and removed once it has been stopped.
public enum ProcessLedger {
    public struct Entry: Sendable, Hashable {
        public var pid: Int32
        public var executable: String
        public var mountPoint: String
    }

    private static let path = Mutex<String?>(nil)

    /// Starts recording into `file` (the run session does this); nil stops recording.
    public static func use(_ file: String?) { path.withLock { $0 = file } }

    /// Records a process the moment it is spawned.
    public static func record(pid: Int32, executable: String, mountPoint: String) {
        path.withLock { file in
            guard let file else { return }
            let line = "\(pid)\t\(executable)\t\(mountPoint)\n"
            guard let fd = try? FileDescriptor.open(file, [.writeOnly, .create, .append], mode: 0o600) else { return }
            defer { fd.closeIgnoringErrors() }
            try? fd.writeAll(Array(line.utf8), at: 0)
            try? fd.fsync()
        }
    }

    /// Forgets a process once it has exited.
    public static func forget(pid: Int32) {
        path.withLock { file in
            guard let file else { return }
            let kept = entries(in: file).filter { $0.pid != pid }
            let text = kept.map { "\($0.pid)\t\($0.executable)\t\($0.mountPoint)\n" }.joined()
            try? FileSystem.writeAtomically(Array(text.utf8), to: file, replacing: true)
        }
    }

    /// The processes recorded in `file`.
    public static func entries(in file: String) -> [Entry] {
        let text = (try? FileSystem.readFile(file)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard fields.count == 3, let pid = Int32(fields[0]), pid > 1 else { return nil }
            return Entry(pid: pid, executable: String(fields[1]), mountPoint: String(fields[2]))
        }
    }

    /// Whether `entry` still names the process we started: the PID is alive and its command line
    /// names the same executable and mount point (PIDs are reused; never signal a stranger).
    public static func isOurs(_ entry: Entry) -> Bool {
        guard let bytes = try? FileSystem.readFile("/proc/\(entry.pid)/cmdline") else { return false }
        let arguments = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let first = arguments.first else { return false }
        func baseName(_ path: String) -> Substring { path.split(separator: "/").last ?? Substring(path) }
        return (first == entry.executable || baseName(first) == baseName(entry.executable))
            && arguments.contains(entry.mountPoint)
    }
}
