import Foundation
import OverlayCore
@testable import OverlaySuite
import OverlayStatistics
import OverlaySystem
import OverlayTestSupport
import Testing

/// The sampling protocol: hook order, rounds, the seeded shuffle, repeats. Nothing is timed.
@Suite("Sampler")
struct SamplerTests {
    /// A log the hooks and the sampler's steps write into, in the order they happen.
    final class Events {
        var items: [String] = []
    }

    func key(_ metric: String) -> SampleBook.Key {
        SampleBook.Key(probe: "test", backend: "-", metric: metric, unit: "ns", parameters: [:])
    }

    func trial(_ name: String, _ events: Events, writes: Bool = false, quiescer: Quiescer? = nil) -> Trial {
        Trial(key: key(name), writes: writes, quiescer: quiescer,
              setUp: { events.items.append("setUp") },
              warm: { events.items.append("warm") },
              operation: { _ in events.items.append("operation \(name)") },
              verify: { _ in events.items.append("verify"); return [] },
              release: { events.items.append("released") },
              tearDown: { events.items.append("tornDown") },
              then: [Trial(key: key(name + "2"), writes: writes, quiescer: quiescer,
                           operation: { _ in events.items.append("operation \(name)2") })])
    }

    func step(_ step: Sampler.Step) -> String {
        switch step {
        case .prepare(let cache): "prepare \(cache.rawValue)"
        default: "\(step)"
        }
    }

    @Test func callsTheHooksInTheDocumentedOrder() throws {
        var plan = SamplingPlan()
        plan.samples = 1
        plan.warmup = 0
        plan.settleNanoseconds = 1_000
        plan.quiesce = true
        try withTemporaryDirectory { directory in
        let events = Events()
        let sampler = Sampler(plan: plan, log: ProgressLog(level: .quiet))
        sampler.onStep = { events.items.append(self.step($0)) }
        let quiescer = try sampler.quiescer(for: [directory])
        try sampler.run("order", cache: .warm, book: SampleBook()) { _ in [trial("a", events, writes: true, quiescer: quiescer)] }
        let measured = ["quiesce", "settle", "clockStart", "operation"]
        #expect(events.items == ["setUp", "setUp", "prepare warm", "warm"] + measured + ["operation a", "clockStop", "verify", "verify", "record"]
            + measured + ["operation a2", "clockStop", "verify", "record", "release", "released", "tearDown", "tornDown"])
        }
    }

    struct Refused: Error {}

    @Test func tearsDownWhenAStepThrowsAndKeepsThatError() throws {
        var plan = SamplingPlan()
        plan.samples = 1
        plan.warmup = 0
        let events = Events()
        let failing = Trial(key: key("f"), writes: false, quiescer: nil,
                            operation: { _ in events.items.append("operation") },
                            verify: { _ in throw Refused() },
                            tearDown: { events.items.append("tornDown"); throw SystemError("umount2", errno: .resourceBusy) })
        #expect(throws: Refused.self) {
            try Sampler(plan: plan, log: ProgressLog(level: .quiet)).run("fails", cache: .warm, book: SampleBook()) { _ in [failing] }
        }
        #expect(events.items == ["operation", "tornDown"])
    }

    @Test func releasesPagesAfterCallsThatWriteByDefaultAndRecordsIt() throws {
        var plan = SamplingPlan()
        plan.samples = 1
        plan.warmup = 0
        let events = Events()
        let book = SampleBook()
        try Sampler(plan: plan, log: ProgressLog(level: .quiet)).run("pages", cache: .warm, book: book) { _ in
            [trial("r", Events(), writes: false), trial("w", events, writes: true)]
        }
        // Once, after the writing trial's follow-up; never for the reading one.
        #expect(events.items.filter { $0 == "released" }.count == 1)
        #expect(events.items.suffix(2) == ["released", "tornDown"])
        let pages = book.measurements().map { "\($0.metric)=\($0.parameters["pages"]!)" }.sorted()
        #expect(pages == ["r2=kept", "r=kept", "w2=released", "w=released"])

        plan.releasePages = false
        let kept = Events()
        try Sampler(plan: plan, log: ProgressLog(level: .quiet)).run("kept", cache: .warm, book: SampleBook()) { _ in
            [trial("w", kept, writes: true)]
        }
        #expect(!kept.items.contains("released"))
    }

    @Test func quiescesOnlyCallsThatWriteByDefault() throws {
        var plan = SamplingPlan()
        plan.samples = 1
        plan.warmup = 0
        try withTemporaryDirectory { directory in
        let events = Events()
        let sampler = Sampler(plan: plan, log: ProgressLog(level: .quiet))
        sampler.onStep = { if $0 == .quiesce { events.items.append("quiesce") } }
        let quiescer = try sampler.quiescer(for: [directory])
        let book = SampleBook()
        try sampler.run("writes", cache: .warm, book: book) { _ in
            [trial("r", Events(), writes: false, quiescer: quiescer), trial("w", Events(), writes: true, quiescer: quiescer)]
        }
        // The writing trial and its follow-up.
        #expect(events.items.count == 2)
        let quiesced = book.measurements().map { "\($0.metric)=\($0.parameters["quiesce"]!)" }.sorted()
        #expect(quiesced == ["r2=false", "r=false", "w2=true", "w=true"])
        }
    }

    @Test func recordsRoundsAndDiscardsTheWarmup() throws {
        var plan = SamplingPlan()
        plan.samples = 3
        plan.warmup = 2
        let sampler = Sampler(plan: plan, log: ProgressLog(level: .quiet))
        let book = SampleBook()
        var asked: [Int] = []
        try sampler.run("rounds", cache: .warm, book: book) { round in
            asked.append(round)
            return [trial("a", Events()), trial("b", Events())]
        }
        #expect(asked == [0, 1, 2, 3, 4])
        let a = try #require(book.measurements().first { $0.metric == "a" })
        #expect(a.samples.count == 3)
        #expect(a.rounds == [0, 1, 2])
        let b = try #require(book.measurements().first { $0.metric == "b" })
        #expect(zip(a.slots!, b.slots!).allSatisfy { Set([$0, $1]) == [0, 1] }, "a and b share each round's two slots")
        #expect(a.parameters["shuffleSeed"] == .int(1))
    }

    @Test func theShuffleIsSeededAndReproducible() {
        let items = Array(0..<20)
        func shuffled(_ seed: UInt64, rounds: Int) -> [[Int]] {
            var generator = SeededGenerator(seed: seed)
            return (0..<rounds).map { _ in
                var copy = items
                Sampler.shuffle(&copy, using: &generator)
                return copy
            }
        }
        let first = shuffled(7, rounds: 3)
        #expect(first == shuffled(7, rounds: 3), "seed 7")
        #expect(first != shuffled(8, rounds: 3), "seeds 7 and 8")
        #expect(first[0] != first[1], "rounds differ (seed 7)")
        for order in first { #expect(order.sorted() == items) }
    }

    @Test func theDeclaredOrderStaysWithoutAShuffleSeed() throws {
        var plan = SamplingPlan()
        plan.samples = 2
        plan.warmup = 0
        plan.shuffleSeed = nil
        let sampler = Sampler(plan: plan, log: ProgressLog(level: .quiet))
        let events = Events()
        try sampler.run("declared", cache: .warm, book: SampleBook()) { _ in
            ["a", "b", "c", "d"].map { name in Trial(key: key(name), writes: false, quiescer: nil, operation: { _ in events.items.append(name) }) }
        }
        #expect(events.items == ["a", "b", "c", "d", "a", "b", "c", "d"])
    }

    @Test func repeatsReportTheSpreadOfTheirMediansAndWarnAboveTenPercent() {
        let book = SampleBook()
        book.plannedRepeats = 3
        let steady = key("steady"), drifting = key("drifting")
        for (index, scale) in [1.0, 1.02, 0.99].enumerated() {
            book.currentRepeat = index
            for value in [100.0, 101, 99] { book.record(value * scale, for: steady, round: 0) }
            for value in [100.0, 101, 99] { book.record(value * (index == 2 ? 1.5 : 1), for: drifting, round: 0) }
        }
        let measurements = book.measurements()
        let a = measurements.first { $0.metric == "steady" }!, b = measurements.first { $0.metric == "drifting" }!
        #expect(a.repeats == [0, 0, 0, 1, 1, 1, 2, 2, 2])
        #expect(a.repeatSpread?.p50s.count == 3)
        #expect((a.repeatSpread?.cv ?? 1) < 0.10)
        #expect(a.warnings == nil)
        #expect((b.repeatSpread?.cv ?? 0) > 0.10)
        #expect(b.warnings?.contains { $0.contains("between-repeat CV") } == true)
        #expect(ResultTable.render(measurements).contains("cv"))
    }

    @Test func suitesRunTheMetadataProbe() throws {
        let suite = try SuiteFile.parse("""
            probes:
              - probe: metadata
                operations: [unlink, chmod]
                fileSize: 64KiB
                pathDepths: [2]
                quiesce: false
            """)
        #expect(suite.probes[0].operations == ["unlink", "chmod"])
        #expect(suite.probes[0].quiesce == false)
    }
}

/// The control and the overhead of a kernel copy-up, on real mounts.
@Suite("Copy-up control", .serialized, Gate.kernelOverlay.trait)
struct CopyUpControlTests {
    @Test func controlAndOverheadAppearWithAnInterval() throws {
        try Gate.kernelOverlay.require()
        var configuration = CopyUpProbe.Configuration()
        configuration.sizes = [0, 64 << 10]
        configuration.sampling.samples = 3
        configuration.sampling.warmup = 0
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try withTemporaryDirectory { directory in
            try CopyUpProbe(configuration: configuration, backends: [KernelOverlayBackend()], log: ProgressLog(level: .quiet))
                .run(in: directory, book: book, mounts: &mounts)
        }
        let measurements = book.measurements()
        let controls = measurements.filter { $0.metric == "control" }
        #expect(controls.count == 2)
        #expect(controls.allSatisfy { $0.backend == "-" && $0.samples.count == 3 && $0.rounds == [0, 1, 2] })
        let overheads = measurements.filter { $0.metric == "overhead" }
        #expect(overheads.count == 2)
        for overhead in overheads {
            #expect(overhead.unit == "ratio" && overhead.samples.count == 1)
            let interval = try #require(overhead.interval)
            #expect(interval.lower <= interval.upper)
        }
        let first = try #require(measurements.first { $0.metric == "firstWrite" })
        #expect(first.parameters["quiesce"] == .bool(true))
        #expect(first.parameters["shuffleSeed"] != nil)
    }
}

/// A cold sample through the reference overlay starts from the lookup caches a freshly opened
/// overlay has: what it learned of the layers before does not answer.
@Suite("Sampler: cold reference lookups", .serialized, Gate.root.trait)
struct SamplerColdReferenceTests {
    /// Two rounds of one lookup of the lower file `f`, which round 1's set-up deletes behind the
    /// overlay's back: the errno each round's lookup returned.
    func lookups(_ cache: CacheState, backend: any OverlayBackend) throws -> [Double] {
        var plan = SamplingPlan()
        plan.samples = 2
        plan.warmup = 0
        plan.caches = [cache]
        let book = SampleBook()
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "f", size: 0, layer: 0)]))
                .build(in: directory)
            try withMergedView(backend, stack, options: .defaults) { view in
                let sampler = Sampler(plan: plan, log: ProgressLog(level: .quiet))
                let calls = ViewCalls(view)
                let key = SampleBook.Key(probe: "test", backend: view.backend, metric: "errno", unit: "errno", parameters: [:])
                try sampler.run("cold reference", cache: cache, book: book) { round in
                    [Trial(key: nil, writes: false, quiescer: nil, view: view,
                           setUp: { if round == 1 { try FileSystem.removeFile(stack.lowerLayers[0].diff + "/f") } },
                           warm: { _ = calls.statxOnly("f") },
                           operation: { watch in watch.outcome = Int64(calls.statxOnly("f")?.rawValue ?? 0) },
                           verify: { watch in [Reading(key: key, value: Double(watch.outcome))] })]
                }
            }
        }
        return try #require(book.measurements().first).samples
    }

    @Test func coldLookupsReadTheLayersAgainAndWarmOnesDoNot() throws {
        try Gate.root.require()
        let reference = ReferenceOverlayBackend(copyEngine: "read-write")
        let enoent = Double(Errno.noSuchFileOrDirectory.rawValue)
        // Warm: the overlay's lower index still answers for the deleted file (as the kernel's
        // dentry cache would), which is why a cold sample must forget it.
        #expect(try lookups(.warm, backend: reference) == [0, 0])
        #expect(try lookups(.cold, backend: reference) == [0, enoent])
        // Through a mount-option variant too.
        #expect(try lookups(.cold, backend: MountVariantBackend(reference, options: .defaults)) == [0, enoent])
    }
}
