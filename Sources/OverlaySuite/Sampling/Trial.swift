import OverlayCore
import OverlaySystem

/// One sample of one variant, as a probe declares it to the ``Sampler``: what to set up, how to
/// warm the cache, the call to time, and how to check it. The sampler calls the hooks in one
/// fixed order (see ``Sampler``); a probe never reads the clock around its call itself.
struct Trial {
    /// Where the clocked time is recorded; nil when only ``Reading``s are (a rate, a lap).
    var key: SampleBook.Key?
    /// Whether the timed call writes, which turns quiescing on by default.
    var writes: Bool
    /// The filesystems the call touches, for quiescing (nil: nothing to quiesce).
    var quiescer: Quiescer?
    /// The view the call goes through: a cold sample also drops what it caches in this process
    /// (``MergedView/dropInProcessCaches()``: the reference overlay's lookups).
    var view: (any MergedView)? = nil
    /// Whether a cold sample also records `readBytes`: what this process read from storage
    /// during the timed call (`/proc/self/io`), which shows what the cold state left cached.
    var countsReads = false
    /// Per-sample set-up that is not cache preparation (fresh names, a footprint before).
    var setUp: () throws -> Void = {}
    /// Brings the cache to the warm state (reads the file through, looks the name up once).
    /// Cold is the sampler's: the view's in-process caches, then ``ColdCache/prepare()``.
    var warm: () throws -> Void = {}
    /// The timed call. It may mark laps and leave an outcome for `verify`.
    var operation: (inout Stopwatch) throws -> Void
    /// Checks the call after the clock stopped, and returns further values to record.
    var verify: (Stopwatch) throws -> [Reading] = { _ in [] }
    /// After the sample (and its follow-ups): lets the page cache go of what the sample read and
    /// wrote (``PageCache/release(_:)`` on its files), when the plan releases pages. The next
    /// sample then allocates from the same memory whatever ran before it.
    var release: () throws -> Void = {}
    /// Ends what the sample made that must not outlive it (the mount a time-to-ready call
    /// made), last of all and on every path: also when an earlier step throws, and then its
    /// own error never hides that one.
    var tearDown: () throws -> Void = {}
    /// Calls timed right after this one on the state it left (a second write to the file the
    /// first one copied up): quiesced and settled like it, but neither set up nor prepared.
    var then: [Trial] = []
}

/// A value a sample records besides its clocked time.
struct Reading {
    var key: SampleBook.Key
    var value: Double
}

/// What the timed call sees of the clock: laps it marks, and an outcome it reports to `verify`.
struct Stopwatch {
    /// When the sampler started the clock, and (after the call) stopped it.
    fileprivate(set) var start: UInt64 = 0
    fileprivate(set) var end: UInt64 = 0
    private var last: UInt64 = 0
    /// Named intervals inside the call, in order.
    private(set) var laps: [(name: String, nanoseconds: UInt64)] = []
    /// A number the call reports for its check: an entry count, bytes read, an errno.
    var outcome: Int64 = 0

    var elapsed: UInt64 { end - start }

    /// Ends the interval since the start or the previous lap, named `name`.
    mutating func lap(_ name: String) {
        let now = MonotonicClock.now()
        laps.append((name, now - last))
        last = now
    }

    /// Records an interval the call timed itself (one of many reads, a thread's latency).
    mutating func record(_ name: String, _ nanoseconds: UInt64) {
        laps.append((name, nanoseconds))
    }

    mutating func begin() {
        start = MonotonicClock.now()
        last = start
    }

    mutating func stop() { end = MonotonicClock.now() }

    func laps(named name: String) -> [UInt64] { laps.filter { $0.name == name }.map(\.nanoseconds) }
}
