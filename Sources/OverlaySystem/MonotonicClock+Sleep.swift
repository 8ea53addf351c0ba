import Glibc

extension MonotonicClock {
    /// `clock_nanosleep(CLOCK_MONOTONIC)` for `nanoseconds`, resumed after a signal until the
    /// whole interval has passed.
    public static func sleep(nanoseconds: UInt64) {
        guard nanoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
        var remaining = timespec()
        while clock_nanosleep(CLOCK_MONOTONIC, 0, &request, &remaining) == EINTR { request = remaining }
    }
}
