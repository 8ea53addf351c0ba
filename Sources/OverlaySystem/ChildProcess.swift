internal import CLiburing
internal import Glibc

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
    /// `/dev/null` (the same path for both shares one file). The environment is this process's
    /// plus `environment`; the child starts in `workingDirectory` when one is given
    /// (`posix_spawn_file_actions_addchdir_np`), and this process's own directory is untouched.
    public static func spawn(
        _ executable: String, _ arguments: [String], standardOutput: String? = nil, standardError: String? = nil,
        workingDirectory: String? = nil, environment: [String: String] = [:]
    ) throws(SystemError) -> ChildProcess {
        try spawn(executable, arguments, workingDirectory: workingDirectory, environment: environment) { actions in
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, standardOutput ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            if let standardError, standardError == standardOutput {
                posix_spawn_file_actions_adddup2(&actions, 1, 2)
            } else {
                posix_spawn_file_actions_addopen(&actions, 2, standardError ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            }
        }
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], workingDirectory: String?, environment: [String: String],
        files: (inout posix_spawn_file_actions_t) -> Void
    ) throws(SystemError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        files(&actions)
        if let workingDirectory {
            let rc = withUnsafeMutablePointer(to: &actions) { cl_spawn_addchdir($0, workingDirectory) }
            if rc != 0 { throw SystemError("posix_spawn_file_actions_addchdir_np", path: workingDirectory, errno: Errno(rawValue: rc)) }
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
        let envp: [UnsafeMutablePointer<CChar>?] = Self.environment(adding: environment).map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        if rc != 0 { throw SystemError("posix_spawn", path: executable, errno: Errno(rawValue: rc)) }
        return ChildProcess(pid: pid, executable: executable)
    }

    /// This process's environment as `NAME=value` strings, with `adding` set (replacing any
    /// earlier value of the same name). This process's environment itself is never changed.
    static func environment(adding extra: [String: String]) -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            let name = text.prefix { $0 != "=" }
            if extra[String(name)] == nil { result.append(text) }
            pointer += 1
        }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) { result.append("\(name)=\(value)") }
        return result
    }

    /// The directories searched for an executable: `$PATH`, then the system directories that a
    /// root login has (tools such as mkfs.xfs and losetup live in sbin).
    static var searchPath: [String] {
        let path = Host.environment("PATH") ?? ""
        var seen = Set<String>()
        return (path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
            .filter { $0.hasPrefix("/") && seen.insert($0).inserted }
    }

    /// The absolute path of the executable `name` on ``searchPath``, or nil. The one place that
    /// looks executables up; a `name` containing `/` is checked as it is.
    public static func findExecutable(_ name: String) -> String? {
        if name.contains("/") { return FileSystem.isExecutable(name) ? name : nil }
        return searchPath.map { $0 + "/" + name }.first(where: FileSystem.isExecutable)
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
            MonotonicClock.sleep(nanoseconds: 5_000_000)
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

    /// Runs `executable` to completion with standard input on `/dev/null`, and returns how it
    /// ended with what it wrote to standard output and standard error, read through pipes. A child
    /// still running after `timeout` seconds is killed (SIGKILL, by its PID) and reported as such.
    public static func run(
        _ executable: String, _ arguments: [String], workingDirectory: String? = nil,
        environment: [String: String] = [:], timeout: Double = 10
    ) throws(SystemError) -> ChildOutput {
        let stdout = try FileDescriptor.makePipe()
        let stderr: (read: FileDescriptor, write: FileDescriptor)
        do { stderr = try FileDescriptor.makePipe() } catch {
            stdout.read.closeIgnoringErrors()
            stdout.write.closeIgnoringErrors()
            throw error
        }
        let child: ChildProcess
        do {
            // The pipes are O_CLOEXEC; dup2 onto 1 and 2 clears that flag in the child only.
            child = try spawn(executable, arguments, workingDirectory: workingDirectory, environment: environment) { actions in
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
                posix_spawn_file_actions_adddup2(&actions, stdout.write.rawValue, 1)
                posix_spawn_file_actions_adddup2(&actions, stderr.write.rawValue, 2)
            }
        } catch {
            for fd in [stdout.read, stdout.write, stderr.read, stderr.write] { fd.closeIgnoringErrors() }
            throw error
        }
        stdout.write.closeIgnoringErrors()
        stderr.write.closeIgnoringErrors()
        let deadline = MonotonicClock.now() &+ UInt64(max(0, timeout) * 1e9)
        let streams = OutputPipes(stdout: stdout.read, stderr: stderr.read)
        let timedOut = streams.drain(until: deadline)
        if timedOut { try? child.signal(SIGKILL) }
        let exit = try child.wait()
        return ChildOutput(exit: exit, timedOut: timedOut, standardOutput: streams.text(0), standardError: streams.text(1))
    }

    private static func decode(_ status: CInt) -> ChildExit {
        if cl_wifsignaled(status) != 0 { return .signaled(cl_wtermsig(status)) }
        return .exited(cl_wexitstatus(status))
    }
}

/// What ``ChildProcess/run(_:_:input:workingDirectory:environment:timeout:)`` collected.
public struct ChildOutput: Sendable {
    public var exit: ChildExit
    /// Whether the child was killed for outliving its timeout.
    public var timedOut: Bool
    public var standardOutput: String
    public var standardError: String

    /// The first non-empty line of standard error, else of standard output: what a one-line
    /// error message quotes.
    public var firstLine: String {
        for text in [standardError, standardOutput] {
            if let line = text.split(separator: "\n").first(where: { !$0.allSatisfy(\.isWhitespace) }) { return String(line) }
        }
        return ""
    }
}

/// A running child's standard output and error, drained together with `poll(2)` so that a
/// child filling one pipe never blocks while the other is read.
private final class OutputPipes {
    private var fds: [FileDescriptor?]
    private var collected: [[UInt8]] = [[], []]

    init(stdout: FileDescriptor, stderr: FileDescriptor) { fds = [stdout, stderr] }

    func text(_ index: Int) -> String { String(decoding: collected[index], as: UTF8.self) }

    private func close(_ index: Int) {
        fds[index]?.closeIgnoringErrors()
        fds[index] = nil
    }

    /// Reads until both pipes reach end of file; returns true if the deadline passed first.
    func drain(until deadline: UInt64) -> Bool {
        defer { for index in fds.indices { close(index) } }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while fds.contains(where: { $0 != nil }) {
            let now = MonotonicClock.now()
            if now >= deadline { return true }
            let open = fds.indices.filter { fds[$0] != nil }
            var polled = open.map { pollfd(fd: fds[$0]!.rawValue, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&polled, nfds_t(polled.count), Int32(min(1000, (deadline - now) / 1_000_000 + 1)))
            if ready < 0 {
                if systemErrno() == EINTR { continue }
                return false
            }
            for (slot, index) in open.enumerated() where polled[slot].revents != 0 {
                let n = Glibc.read(fds[index]!.rawValue, &buffer, buffer.count)
                if n > 0 { collected[index] += buffer[..<n] }
                if n == 0 || (n < 0 && systemErrno() != EINTR) { close(index) }
            }
        }
        return false
    }
}
