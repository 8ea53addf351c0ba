import OverlayCore
import OverlayStatistics
import OverlaySystem

/// The one sampling protocol every probe runs through. A probe declares, per round, one
/// ``Trial`` per variant (size, position, backend, …); the sampler owns everything else:
///
/// - rounds: `warmup` discarded ones, then `samples` recorded ones, each sample recorded with
///   its round (`rounds` in the result), so that drift over a run is visible;
/// - order: the trials of a round in a seeded shuffle (`shuffleSeed`), so that no variant always
///   follows the same one (a 256 MiB copy-up just before every 0-byte one);
/// - per trial, always in this order:
///   1. set-up (the trial's own: fresh names, a footprint before),
///   2. prepare: the cache state (warm: the trial's hook; cold: the view's in-process caches
///      forgotten, then ``ColdCache/prepare()``),
///   3. quiesce (``Quiescer``: syncfs and drained devices; by default only for calls that write),
///   4. settle (idle `settleNanoseconds`),
///   5. clock, 6. operation, 7. clock: only the operation sits between the two clock reads,
///   8. verify, 9. record (the plan's parameters are added to every key),
///   then the trial's follow-ups (`then`), each from step 3,
///   10. release: what the sample read and wrote leaves the page cache (``Trial/release``), where
///       the plan releases pages (by default where the call writes),
///   11. tear-down (``Trial/tearDown``: what must not outlive the sample, such as a mount the
///       call made), also when an earlier step threw;
/// - a signal check between trials, so an interrupted run unwinds and keeps what it has.
///
/// The models are package-benchmark's runner (warm-up, measured iterations) and hyperfine's
/// `--setup`/`--prepare`.
final class Sampler {
    /// The steps of one trial, for tests that check the order.
    enum Step: Equatable {
        case setUp, prepare(CacheState), quiesce, settle, clockStart, operation, clockStop, verify, record, release, tearDown
    }

    let plan: SamplingPlan
    let backends: [any OverlayBackend]
    let log: ProgressLog
    /// Called at each step when set (tests); never between the clock reads.
    var onStep: ((Step) -> Void)?
    private var quiescers: [String: Quiescer] = [:]

    init(plan: SamplingPlan, backends: [any OverlayBackend] = [], log: ProgressLog) {
        self.plan = plan
        self.backends = backends
        self.log = log
    }

    /// Refuses a plan this host cannot carry out, before anything is generated.
    func checkCapabilities() throws {
        if plan.caches.contains(.cold) && !ColdCache.isAvailable {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
    }

    /// The quiescer for the filesystems under `paths` (made once per distinct list).
    func quiescer(for paths: [String]) throws -> Quiescer {
        let identity = paths.joined(separator: "\u{0}")
        if let existing = quiescers[identity] { return existing }
        let made = try Quiescer(paths: paths)
        quiescers[identity] = made
        return made
    }

    /// The quiescer for a view's upper layer and its lower layers.
    func quiescer(_ stack: LayerStack, _ view: any MergedView) throws -> Quiescer {
        try quiescer(for: [view.upperPath] + stack.lowerPaths)
    }

    /// Runs every round of `trials(round)` from `cache`, recording into `book`.
    /// `label` names the task in progress lines.
    func run(_ label: String, cache: CacheState, book: SampleBook, trials: (_ round: Int) throws -> [Trial]) throws {
        var generator = plan.shuffleSeed.map { SeededGenerator(seed: $0) }
        for round in 0..<plan.rounds {
            var declared = try trials(round)
            if round == 0 { declare(declared, cache: cache, in: book) }
            if generator != nil { Self.shuffle(&declared, using: &generator!) }
            let recorded = round >= plan.warmup ? round - plan.warmup : nil
            for (slot, trial) in declared.enumerated() {
                try SignalTrap.check()
                try run(trial, cache: cache, book: book, round: recorded.map { ($0, slot) })
            }
            log.progress("\(label) \(cache.rawValue)", done: round + 1, of: plan.rounds)
        }
    }

    /// Each trial's key (and its follow-ups'), in declared order.
    private func declare(_ trials: [Trial], cache: CacheState, in book: SampleBook) {
        for trial in trials {
            if let key = trial.key { book.declare(complete(key, cache, trial.writes)) }
            declare(trial.then, cache: cache, in: book)
        }
    }

    /// Fisher–Yates with ``SeededGenerator/index(below:)``, whose algorithm is fixed, so a
    /// recorded seed reproduces the order on any toolchain.
    static func shuffle<T>(_ items: inout [T], using generator: inout SeededGenerator) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = generator.index(below: i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    /// `round`: the recorded round and the trial's slot in it; nil in a warm-up round.
    private func run(_ trial: Trial, cache: CacheState, book: SampleBook, round: (index: Int, slot: Int)?) throws {
        do {
            onStep?(.setUp)
            try trial.setUp()
            onStep?(.prepare(cache))
            switch cache {
            case .warm: try trial.warm()
            case .cold:
                // The view's own caches first: the directories it lets go of are then dropped too.
                trial.view?.dropInProcessCaches()
                try ColdCache.prepare()
            }
            try measure(trial, cache: cache, book: book, round: round)
            if plan.releasesPages(writes: trial.writes) {
                onStep?(.release)
                try trial.release()
            }
        } catch {
            try? trial.tearDown()
            throw error
        }
        onStep?(.tearDown)
        try trial.tearDown()
    }

    /// Steps 3 to 9 of a trial, then its follow-ups.
    private func measure(_ trial: Trial, cache: CacheState, book: SampleBook, round: (index: Int, slot: Int)?) throws {
        let quiesces = plan.quiesces(writes: trial.writes)
        if quiesces, let quiescer = trial.quiescer {
            onStep?(.quiesce)
            let stalls = quiescer.stalls
            try quiescer.quiesce()
            if quiescer.stalls > stalls, let key = trial.key {
                book.warn("a device still had requests in flight after \(Quiescer.drainTimeout / 1_000_000_000) s; sampled anyway", for: complete(key, cache, trial.writes))
            }
        }
        if plan.settleNanoseconds > 0 {
            onStep?(.settle)
            MonotonicClock.sleep(nanoseconds: plan.settleNanoseconds)
        }
        let countsReads = cache == .cold && trial.countsReads
        let readsBefore = countsReads ? try ProcessIO.readBytes() : nil
        onStep?(.clockStart)
        var watch = Stopwatch()
        watch.begin()
        onStep?(.operation)
        try trial.operation(&watch)
        watch.stop()
        onStep?(.clockStop)
        let readsAfter = countsReads ? try ProcessIO.readBytes() : nil
        onStep?(.verify)
        var readings = try trial.verify(watch)
        if let key = trial.key, let readsBefore, let readsAfter {
            var reads = key
            reads.metric = "readBytes"
            reads.unit = "bytes"
            reads.parameters["of"] = .string(key.metric)
            readings.append(Reading(key: reads, value: Double(readsAfter - readsBefore)))
        }
        if let round {
            onStep?(.record)
            if let key = trial.key {
                book.record(Double(watch.elapsed), for: complete(key, cache, trial.writes), round: round.index, slot: round.slot)
            }
            for reading in readings {
                book.record(reading.value, for: complete(reading.key, cache, trial.writes), round: round.index, slot: round.slot)
            }
        }
        for next in trial.then { try measure(next, cache: cache, book: book, round: round) }
    }

    /// `key` with the plan's parameters (cache, fs, quiesce, order, cold method, settle).
    func complete(_ key: SampleBook.Key, _ cache: CacheState, _ writes: Bool) -> SampleBook.Key {
        var key = key
        key.parameters = complete(key.parameters, cache, writes)
        return key
    }

    /// `parameters` with the plan's; a probe's own value wins.
    func complete(_ parameters: [String: ParameterValue], _ cache: CacheState, _ writes: Bool) -> [String: ParameterValue] {
        parameters.merging(plan.parameters(cache: cache, writes: writes)) { probe, _ in probe }
    }
}
