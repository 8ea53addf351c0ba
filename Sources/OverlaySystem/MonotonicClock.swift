internal import Glibc

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds: the clock every probe times with.
public enum MonotonicClock {
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Sleeps for `nanoseconds` with `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`, so a
    /// signal that interrupts the sleep neither shortens nor lengthens it. A caught SIGINT or
    /// SIGTERM is still seen by ``SignalTrap/check()`` afterwards.
    public static func sleep(nanoseconds: UInt64) {
        let deadline = now() &+ nanoseconds
        var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
    }

    /// ``sleep(nanoseconds:)`` in seconds.
    public static func sleep(seconds: Double) {
        sleep(nanoseconds: UInt64(max(0, seconds) * 1e9))
    }
}
