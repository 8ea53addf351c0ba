internal import Glibc
import Synchronization

/// Catches SIGINT and SIGTERM so a run can stop between samples, unmount what it mounted, keep
/// its partial results, and exit with 128 + the signal number (130 or 143).
///
/// The handler only records the signal: everything else happens on the normal path, where
/// `defer` and scoped helpers unwind the mounts.
public enum SignalTrap {
    private static let pending = Atomic<Int32>(0)

    /// Installs the handler for SIGINT and SIGTERM (`sigaction(2)`, without `SA_RESTART`, so a
    /// blocking call returns `EINTR`).
    public static func install() {
        // A parent may hand us these signals blocked (posix_spawn keeps the mask), and a blocked
        // SIGINT would stay pending forever; a benchmark must always honour Ctrl-C.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for signal in [SIGINT, SIGTERM] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                SignalTrap.pending.store(number, ordering: .relaxed)
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = 0
            sigaction(signal, &action, nil)
        }
    }

    /// The signal that arrived, if any.
    public static var caught: Int32? {
        let value = pending.load(ordering: .relaxed)
        return value == 0 ? nil : value
    }

    /// Throws ``Interrupted`` if a signal arrived; probes call this between samples.
    public static func check() throws(Interrupted) {
        if let signal = caught { throw Interrupted(signal: signal) }
    }

    /// Forgets a caught signal (tests).
    public static func reset() { pending.store(0, ordering: .relaxed) }
}

/// A run was interrupted by SIGINT or SIGTERM.
public struct Interrupted: Error, CustomStringConvertible, Sendable {
    public var signal: Int32
    public init(signal: Int32) { self.signal = signal }
    /// 128 + the signal number, as shells report it.
    public var exitCode: Int32 { 128 + signal }
    public var description: String { signal == SIGINT ? "interrupted (SIGINT)" : "terminated (signal \(signal))" }
}

/// Signal numbers, so callers need not import Glibc.
public enum SignalNumber {
    public static let interrupt = SIGINT
    public static let terminate = SIGTERM
    public static let kill = SIGKILL
}

/// `kill(2)` to one process by PID; never by name.
public func sendSignal(_ signal: Int32, to pid: Int32) throws(SystemError) {
    if kill(pid, signal) != 0 { throw SystemError("kill", path: "pid \(pid)", errno: .init(rawValue: systemErrno())) }
}

/// Whether a process with this PID exists (`kill(pid, 0)`).
public func processExists(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 || systemErrno() == EPERM
}
