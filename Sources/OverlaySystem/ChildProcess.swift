import CLiburing
import Glibc

/// How a child process ended, as `waitpid(2)` reports it.
public enum ChildExit: Sendable, Hashable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    public var succeeded: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let code): "exited with status \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// A child process started with `posix_spawn(3)`, known by its PID and reaped with `waitpid(2)`.
///
/// It is put in a process group of its own (`POSIX_SPAWN_SETPGROUP`), so the terminal's Ctrl-C
/// reaches only OverlayBench, which then stops the child itself in its teardown, in order
/// (a FUSE daemon must outlive the probes that still use its mount). Signals go to this PID only.
public final class ChildProcess {
    public let pid: Int32
    public let executable: String
    /// Set once the child has been reaped; a PID is waited for exactly once.
    public private(set) var exit: ChildExit?

    private init(pid: Int32, executable: String) {
        self.pid = pid
        self.executable = executable
    }

    /// `posix_spawn(3)` of `executable` with `arguments` (not including argv[0]). Standard input is
    /// `/dev/null`; standard output and error go to the files named (created or truncated), or to
    /// `/dev/null` (the same path for both shares one file). The environment is inherited.
    public static func spawn(
        _ executable: String, _ arguments: [String], standardOutput: String? = nil, standardError: String? = nil
    ) throws(SystemError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let standardError, standardError == standardOutput {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, standardError ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Own process group, an empty signal mask, and default SIGINT/SIGTERM/SIGPIPE dispositions.
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        if rc != 0 { throw SystemError("posix_spawn", path: executable, errno: Errno(rawValue: rc)) }
        return ChildProcess(pid: pid, executable: executable)
    }

    /// `waitpid(pid, WNOHANG)`: the exit if the child has ended (reaping it), nil while it runs.
    @discardableResult
    public func poll() throws(SystemError) -> ChildExit? {
        if let exit { return exit }
        var status: CInt = 0
        let rc = try retryingEINTR("waitpid", path: "pid \(pid)") { waitpid(pid, &status, WNOHANG) }
        if rc == 0 { return nil }
        exit = Self.decode(status)
        return exit
    }

    /// Waits up to `timeout` seconds for the child to end; nil if it is still running then.
    @discardableResult
    public func wait(timeout: Double) throws(SystemError) -> ChildExit? {
        let deadline = MonotonicClock.now() + UInt64(max(0, timeout) * 1e9)
        while true {
            if let exit = try poll() { return exit }
            if MonotonicClock.now() >= deadline { return nil }
            usleep(5_000)
        }
    }

    /// Blocks in `waitpid(2)` until the child ends.
    @discardableResult
    public func wait() throws(SystemError) -> ChildExit {
        if let exit { return exit }
        var status: CInt = 0
        _ = try retryingEINTR("waitpid", path: "pid \(pid)") { waitpid(pid, &status, 0) }
        let exit = Self.decode(status)
        self.exit = exit
        return exit
    }

    /// `kill(2)` to this PID; a no-op once the child has been reaped (the PID may be reused).
    public func signal(_ signal: Int32) throws(SystemError) {
        guard exit == nil else { return }
        try sendSignal(signal, to: pid)
    }

    /// Runs `executable` to completion and returns its exit and standard output (read through a
    /// temporary file), for short commands such as `--version`.
    public static func run(
        _ executable: String, _ arguments: [String], timeout: Double = 10
    ) throws(SystemError) -> (exit: ChildExit?, output: String) {
        let outputPath = "/tmp/.overlaybench-child-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(outputPath) }
        let child = try spawn(executable, arguments, standardOutput: outputPath, standardError: outputPath)
        var exit = try child.wait(timeout: timeout)
        if exit == nil {
            try? child.signal(SIGKILL)
            exit = try child.wait()
        }
        let fd = try FileDescriptor.open(outputPath, .readOnly)
        defer { fd.closeIgnoringErrors() }
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { chunk.deallocate() }
        while case let n = try fd.pread(into: chunk, at: Int64(bytes.count)), n > 0 { bytes += chunk[..<n] }
        return (exit, String(decoding: bytes, as: UTF8.self))
    }

    private static func decode(_ status: CInt) -> ChildExit {
        if cl_wifsignaled(status) != 0 { return .signaled(cl_wtermsig(status)) }
        return .exited(cl_wexitstatus(status))
    }
}
