import Foundation
import OverlayStatistics
import OverlaySuite
import OverlayTestSupport
import Testing

@Suite("Comparison verdicts")
struct ComparisonTests {
    @Test("Identical distributions are unchanged and exit 0")
    func identical() {
        let baseline = ResultFixtures.copyUpRun(seed: 11)
        let current = ResultFixtures.copyUpRun(seed: 11)
        let comparison = Comparison.compare(baseline: baseline, current: current)
        #expect(comparison.differences.isEmpty, "layer paths must not count as a difference: \(comparison.differences)")
        #expect(comparison.entries.count == 6)
        #expect(comparison.entries.allSatisfy { $0.verdict == .unchanged })
        #expect(comparison.exitStatus == 0)
    }

    @Test("A measured between-repeat spread is the run-to-run allowance (seeds 41, 42)")
    func repeatSpreadWidensTheAllowance() {
        let baseline = ResultFixtures.copyUpRun(seed: 41).measurements[0]
        var current = ResultFixtures.copyUpRun(scale: 1.3, seed: 42).measurements[0]
        let assumed = Comparison.compare(baseline: baseline, current: current)
        #expect(assumed.verdict == .regression)
        // Repeats that moved the p50 by about 40 % leave a 30 % shift within the run-to-run noise:
        // no longer a regression, and no more samples can make it one (the allowance is the limit).
        current.repeatSpread = RepeatSpread(p50s: [1.0, 1.6, 1.1])
        let measured = Comparison.compare(baseline: baseline, current: current)
        #expect(measured.decisionInterval!.lower < assumed.decisionInterval!.lower)
        #expect(measured.verdict == .inconclusive)
        #expect(measured.samplesToResolve == nil)
    }

    @Test("Two draws from one distribution are unchanged (seeds 21, 22)")
    func sameDistributionDifferentDraws() {
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(noise: 0.1, seed: 21), current: ResultFixtures.copyUpRun(noise: 0.1, seed: 22))
        #expect(comparison.regressions.isEmpty && comparison.improvements.isEmpty)
        #expect(comparison.exitStatus == 0)
    }

    @Test("A 30% slowdown with 2% noise is a regression and exits 1 (seeds 31, 32)")
    func regression() {
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(seed: 31), current: ResultFixtures.copyUpRun(scale: 1.3, seed: 32))
        #expect(comparison.regressions.count == 6)
        for entry in comparison.entries {
            #expect(abs(entry.ratio! - 1.3) < 0.05)
            #expect(entry.decisionInterval!.lower > 1 + entry.threshold)
        }
        #expect(comparison.exitStatus == 1)
        #expect(comparison.markdown().contains("6 regression(s)"))
        #expect(comparison.adjustedLevel > 0.95 - 1e-12, "6 of 6 selected: 1 − 6·0.05/6")
    }

    @Test("A 30% speed-up is an improvement and exits 0 (seeds 41, 42)")
    func improvement() {
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(seed: 41), current: ResultFixtures.copyUpRun(scale: 0.7, seed: 42))
        #expect(comparison.improvements.count == 6)
        #expect(comparison.regressions.isEmpty)
        #expect(comparison.exitStatus == 0)
    }

    @Test("For GB/s a higher current value is an improvement and a lower one a regression (seeds 51, 52)")
    func higherIsBetterFlips() {
        func throughput(_ median: Double, seed: UInt64) -> OverlaySuite.Measurement {
            OverlaySuite.Measurement(probe: "copy", backend: "-", metric: "throughput", unit: "GB/s",
                        parameters: ["engine": "read-write", "size": .int(1 << 20)],
                        samples: ResultFixtures.samples(median: median, noise: 0.02, seed: seed))
        }
        let faster = Comparison.compare(baseline: throughput(2.0, seed: 51), current: throughput(2.6, seed: 52))
        #expect(faster.verdict == .improvement)
        let slower = Comparison.compare(baseline: throughput(2.0, seed: 51), current: throughput(1.4, seed: 52))
        #expect(slower.verdict == .regression)
    }

    @Test("A shift inside the threshold is unchanged however significant (seeds 61, 62)")
    func belowThreshold() {
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(noise: 0.001, seed: 61), current: ResultFixtures.copyUpRun(scale: 1.02, noise: 0.001, seed: 62))
        #expect(comparison.entries.allSatisfy { $0.verdict == .unchanged })
    }

    @Test("A run-wide drift as large as the runs' own spread is not called a change (seeds 71, 72)")
    func driftWithinSpread() {
        // ±25 % uniform noise; the current run sits 12 % higher, as whole runs drift on a shared VM.
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(noise: 0.25, seed: 71), current: ResultFixtures.copyUpRun(scale: 1.12, noise: 0.25, seed: 72))
        #expect(comparison.regressions.isEmpty)
    }

    @Test("Different mount options are refused with the reason, and compared with force")
    func incomparableMountOptions() throws {
        let baseline = ResultFixtures.copyUpRun(scale: 0.3, seed: 81, options: "volatile")
        let current = ResultFixtures.copyUpRun(seed: 82)
        let refused = Comparison.compare(baseline: baseline, current: current)
        #expect(refused.refused)
        #expect(refused.exitStatus == 2)
        #expect(refused.entries.isEmpty)
        let what = refused.differences.map(\.what)
        #expect(what.contains { $0.hasPrefix("effective mount options") })
        #expect(what.contains { $0.hasPrefix("requested mount options") })
        let effective = try #require(refused.differences.first { $0.what.hasPrefix("effective") })
        #expect(effective.baseline == "\"rw,uuid=on,fsync=volatile\"")
        #expect(effective.current == "\"rw,uuid=on\"")
        #expect(refused.markdown().contains("Not comparable"))

        let forced = Comparison.compare(baseline: baseline, current: current, options: .init(force: true))
        #expect(!forced.refused)
        #expect(forced.entries.count == 6, "mountOptions differs as a whole, so pairing ignores it")
        #expect(forced.regressions.count == 6)
        #expect(forced.exitStatus == 1)
        let swapped = Comparison.compare(baseline: current, current: baseline, options: .init(force: true))
        #expect(swapped.improvements.count == 6)
        #expect(swapped.exitStatus == 0)
    }

    @Test("A copy-up's control, which has no mount options, does not stop forced pairing across option sets")
    func controlsDoNotBlockPairing() {
        func withControl(_ file: ResultFile, seed: UInt64) -> ResultFile {
            var file = file
            var random = SeededGenerator(seed: seed)
            let samples = (0..<10).map { _ in 1_000_000 * (1 + 0.01 * Double.random(in: -1...1, using: &random)) }
            file.measurements.append(OverlaySuite.Measurement(
                probe: "copyup", backend: "-", metric: "control", unit: "ns",
                parameters: ["size": .int(1 << 20), "cache": "warm", "fs": "root"], samples: samples))
            return file
        }
        let baseline = withControl(ResultFixtures.copyUpRun(scale: 0.3, seed: 81, options: "volatile"), seed: 1)
        let current = withControl(ResultFixtures.copyUpRun(seed: 82), seed: 2)
        let forced = Comparison.compare(baseline: baseline, current: current, options: .init(force: true))
        #expect(forced.cannotJudge == nil)
        #expect(forced.entries.count == 7, "the six overlay measurements pair across option sets, the control with the control")
        #expect(forced.regressions.count == 6)
        #expect(forced.entries.first { $0.metric == "control" }?.verdict == .unchanged)
    }

    @Test("A regression whose same-run control moved as much says so, and one whose control held does not (seeds 91-94)")
    func controlShiftsAreNoted() {
        func withControls(_ file: ResultFile, scale: Double, seed: UInt64) -> ResultFile {
            var file = file
            var random = SeededGenerator(seed: seed)
            for size in ResultFixtures.sizes {
                let median = (400 + 3000 * Double(size) / Double(1 << 20)) * 1_000 * scale
                let samples = (0..<10).map { _ in median * (1 + 0.02 * Double.random(in: -1...1, using: &random)) }
                file.measurements.append(OverlaySuite.Measurement(
                    probe: "copyup", backend: "-", metric: "control", unit: "ns",
                    parameters: ["size": .int(size), "cache": "warm", "fs": "root", "layers": 1], samples: samples))
            }
            return file
        }
        let baseline = withControls(ResultFixtures.copyUpRun(seed: 91), scale: 1, seed: 1)
        let machine = Comparison.compare(baseline: baseline, current: withControls(ResultFixtures.copyUpRun(scale: 1.5, seed: 92), scale: 1.5, seed: 2))
        let firstWrites = machine.regressions.filter { $0.metric == "firstWrite" }
        #expect(firstWrites.count == ResultFixtures.sizes.count)
        #expect(firstWrites.allSatisfy { $0.note?.contains("same-run control (copy without overlay) moved ×1.5") == true })
        #expect(machine.exitStatus == 1, "a slower machine is still slower: the note explains, the verdict stays")
        #expect(machine.markdown().contains("the machine likelier changed than overlay"))

        let overlay = Comparison.compare(baseline: baseline, current: withControls(ResultFixtures.copyUpRun(scale: 1.5, seed: 93), scale: 1, seed: 3))
        #expect(overlay.regressions.filter { $0.metric == "firstWrite" }.count == ResultFixtures.sizes.count)
        #expect(overlay.regressions.allSatisfy { $0.note == nil })

        // The control moved, but far less than the metric: the note gives what is overlay's own.
        let both = Comparison.compare(baseline: baseline, current: withControls(ResultFixtures.copyUpRun(scale: 3, seed: 94), scale: 1.5, seed: 4))
        let notes = both.regressions.filter { $0.metric == "firstWrite" }.compactMap(\.note)
        #expect(notes.count == ResultFixtures.sizes.count)
        for note in notes {
            // "its same-run control (…) moved ×1.50; relative to it this moved ×2.00", give or take the 2 % noise.
            let numbers = note.split(separator: "×").dropFirst().compactMap { Double($0.prefix(4)) }
            #expect(numbers.count == 2 && abs(numbers[0] - 1.5) < 0.05 && abs(numbers[1] - 2) < 0.1, "\(note)")
            #expect(note.contains("relative to it this moved"))
        }
    }

    @Test("A read's control is the plain backend's plain file: when it moved as much, the note says so (seed 95)")
    func readControlShiftsAreNoted() {
        func run(scale: Double, controlScale: Double, seed: UInt64) -> ResultFile {
            var random = SeededGenerator(seed: seed)
            func samples(_ median: Double) -> [Double] { (0..<10).map { _ in median * (1 + 0.02 * Double.random(in: -1...1, using: &random)) } }
            let common: [String: ParameterValue] = ["size": .int(16 << 20), "depth": 1, "cache": "warm", "fs": "root"]
            var upper = common, plain = common
            upper["place"] = "upper"
            upper["control"] = "place=plain"
            upper["mountMethod"] = "mount(2)"
            plain["place"] = "plain"
            plain["role"] = "control"
            plain["mountMethod"] = "copy (vfs)"
            var file = ResultFixtures.copyUpRun(seed: seed)
            file.measurements = [
                OverlaySuite.Measurement(probe: "read", backend: "kernel", metric: "firstByte", unit: "ns", parameters: upper, samples: samples(20_000 * scale)),
                OverlaySuite.Measurement(probe: "read", backend: "plain", metric: "firstByte", unit: "ns", parameters: plain, samples: samples(16_000 * controlScale)),
            ]
            return file
        }
        let comparison = Comparison.compare(baseline: run(scale: 1, controlScale: 1, seed: 95), current: run(scale: 1.5, controlScale: 1.5, seed: 96))
        let kernel = comparison.regressions.first { $0.backend == "kernel" }
        #expect(kernel?.note?.contains("same-run control (plain file) moved") == true, "\(String(describing: kernel?.note))")
        #expect(kernel?.note?.contains("the machine likelier changed") == true)
    }

    @Test("A ratio with an interval on each side is judged on both intervals, not compared exactly")
    func ratiosWithIntervals() {
        func overhead(_ value: Double, _ lower: Double, _ upper: Double) -> OverlaySuite.Measurement {
            var m = OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "overhead", unit: "ratio",
                                             parameters: ["size": .int(1 << 20)], samples: [value])
            m.interval = ConfidenceInterval(lower: lower, upper: upper, level: 0.95)
            return m
        }
        // 1.01 → 0.81 with intervals ±15 %: no verdict either way.
        let wide = Comparison.compare(baseline: overhead(1.01, 0.88, 1.16), current: overhead(0.81, 0.70, 0.93))
        #expect(wide.verdict == .inconclusive)
        #expect(wide.decisionInterval!.lower < 0.9 && wide.decisionInterval!.upper > 0.9)
        // 1.0 → 2.0 with intervals ±5 %: a regression.
        let clear = Comparison.compare(baseline: overhead(1.0, 0.95, 1.05), current: overhead(2.0, 1.9, 2.1))
        #expect(clear.verdict == .regression)
        // The same value on both sides with tight intervals: unchanged.
        #expect(Comparison.compare(baseline: overhead(1.0, 0.98, 1.02), current: overhead(1.0, 0.98, 1.02)).verdict == .unchanged)
    }

    @Test("Kernel, backing filesystem and size differences are each named")
    func otherDifferences() {
        let baseline = ResultFixtures.copyUpRun(seed: 91)
        let kernel = Comparison.compare(baseline: baseline, current: ResultFixtures.copyUpRun(seed: 92, kernel: "6.9.0"))
        #expect(kernel.differences == [.init(what: "kernel release", baseline: "6.8.0-test", current: "6.9.0")])
        let build = Comparison.compare(baseline: baseline, current: ResultFixtures.copyUpRun(seed: 92, kernel: "6.8.0-other-build"))
        #expect(build.differences.isEmpty, "the same release with another build string is comparable")
        #expect(build.warnings.contains { $0.contains("kernel build differs") })
        let fs = Comparison.compare(baseline: baseline, current: ResultFixtures.copyUpRun(seed: 92, fsType: "xfs"))
        #expect(fs.differences.map(\.what) == ["backing filesystem root"])
        let sizes = Comparison.compare(baseline: baseline, current: ResultFixtures.copyUpRun(seed: 92, sizes: [4096, 1 << 20]))
        #expect(sizes.differences == [.init(what: "sizes of the copyup probe", baseline: "4KiB,1MiB,16MiB", current: "4KiB,1MiB")])
        #expect(sizes.exitStatus == 2)
    }

    @Test("Layer paths are removed from effective options, other options kept")
    func layerPaths() {
        #expect(Comparison.withoutLayerPaths("rw,lowerdir=/a:/b,upperdir=/u,workdir=/w,uuid=on,volatile") == "rw,uuid=on,volatile")
    }

    @Test("The JSON form carries the verdicts and the exit status")
    func json() throws {
        let comparison = Comparison.compare(
            baseline: ResultFixtures.copyUpRun(seed: 31), current: ResultFixtures.copyUpRun(scale: 1.3, seed: 32))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(comparison.json().utf8)) as? [String: Any])
        #expect(object["schema"] as? String == "overlaybench.comparison/1")
        #expect(object["exitStatus"] as? Int == 1)
    }

    // MARK: - Issue 14: a gate with power, that cannot pass a run it cannot judge

    static func run(_ metrics: Int, scale: Double = 1, noise: Double = 0.02, count: Int = 5, seed: UInt64) -> ResultFile {
        var file = ResultFixtures.copyUpRun(seed: seed)
        file.measurements = (0..<metrics).map { index in
            OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "stat", unit: "ns",
                                     parameters: ["depth": .int(Int64(index + 1)), "cache": "warm"],
                                     samples: ResultFixtures.samples(median: 2_000 * scale, noise: noise, count: count, seed: seed &+ UInt64(index)))
        }
        return file
    }

    @Test("At 5 samples a side a 2× slowdown is a regression (Mann–Whitney with Bonferroni could never reach it)")
    func powerAtFiveSamples() {
        let comparison = Comparison.compare(baseline: Self.run(40, seed: 1), current: Self.run(40, scale: 2, seed: 500))
        #expect(comparison.regressions.count == 40)
        #expect(comparison.exitStatus == 1)
    }

    @Test("Forty unchanged metrics at 5 samples a side: none is called a change")
    func noFalseAlarms() {
        let comparison = Comparison.compare(baseline: Self.run(40, noise: 0.03, seed: 1), current: Self.run(40, noise: 0.03, seed: 900))
        #expect(comparison.regressions.isEmpty && comparison.improvements.isEmpty)
        #expect(comparison.exitStatus == 0)
    }

    @Test("An interval across the threshold's edge is inconclusive, with the sample count that would settle it")
    func inconclusive() throws {
        // ±30% noise and a 10% slowdown against a 10% threshold: neither side of the edge.
        let comparison = Comparison.compare(baseline: Self.run(1, noise: 0.3, count: 8, seed: 3), current: Self.run(1, scale: 1.1, noise: 0.3, count: 8, seed: 4))
        let entry = try #require(comparison.entries.first)
        #expect(entry.verdict == .inconclusive)
        #expect(comparison.exitStatus == 0)
        let strict = Comparison.compare(baseline: Self.run(1, noise: 0.3, count: 8, seed: 3), current: Self.run(1, scale: 1.1, noise: 0.3, count: 8, seed: 4),
                                        options: .init(strict: true))
        #expect(strict.exitStatus == 1, "--strict counts inconclusive as a failure")
        #expect(comparison.markdown().contains("inconclusive"))
        if let needed = entry.samplesToResolve { #expect(needed > 8) } else { #expect(entry.note?.contains("cannot settle") == true) }
    }

    @Test("A current run that cannot be judged exits 2 with the reason: empty, incomplete, missing half, another schema")
    func cannotJudge() {
        let baseline = Self.run(10, seed: 1)
        var empty = Self.run(10, seed: 2)
        empty.measurements = []
        #expect(Comparison.compare(baseline: baseline, current: empty).cannotJudge == "the current run has no measurements")
        #expect(Comparison.compare(baseline: baseline, current: empty, options: .init(force: true)).exitStatus == 2)
        var incomplete = Self.run(10, seed: 2)
        incomplete.incomplete = true
        incomplete.stopReason = "interrupted (SIGINT)"
        let stopped = Comparison.compare(baseline: baseline, current: incomplete)
        #expect(stopped.exitStatus == 2)
        #expect(stopped.cannotJudge?.contains("incomplete (interrupted (SIGINT))") == true)
        var half = Self.run(10, seed: 2)
        half.measurements.removeLast(5)
        let missing = Comparison.compare(baseline: baseline, current: half)
        #expect(missing.exitStatus == 2)
        #expect(missing.cannotJudge?.contains("lacks 5 of the baseline's 10 measurements") == true)
        #expect(Comparison.compare(baseline: baseline, current: half, options: .init(allowMissing: true)).exitStatus == 0)
        var other = Self.run(10, seed: 2)
        other.schema = "overlaybench.result/2"
        #expect(Comparison.compare(baseline: baseline, current: other).exitStatus == 2)
    }

    @Test("Comparing a run with itself is warned about")
    func sameRun() {
        let file = Self.run(3, seed: 1)
        #expect(Comparison.compare(baseline: file, current: file).warnings.contains { $0.contains("same run") })
    }

    @Test("Thresholds from YAML: a metric's own, then --threshold, then the unit's, then the built-in")
    func thresholds() throws {
        let file = try ThresholdFile.parse("""
            units:
              ns: 20%
            metrics:
              - probe: lookup
                metric: stat
                parameters: {depth: 1}
                threshold: 50%
            """)
        let depth1 = OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "stat", unit: "ns", parameters: ["depth": 1], samples: [1])
        let depth2 = OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "stat", unit: "ns", parameters: ["depth": 2], samples: [1])
        let bytes = OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "upperBytes", unit: "bytes", parameters: [:], samples: [1])
        #expect(Comparison.Options(thresholds: file).threshold(for: depth1) == 0.5)
        #expect(Comparison.Options(thresholds: file).threshold(for: depth2) == 0.2)
        #expect(Comparison.Options(threshold: 0.05, thresholds: file).threshold(for: depth2) == 0.05)
        #expect(Comparison.Options().threshold(for: bytes) == 0.01)
        #expect(throws: SuiteFileError.self) { try ThresholdFile.parse("metrics:\n  - probe: x\n    threshold: 150%\n") }
        #expect(throws: SuiteFileError.self) { try ThresholdFile.parse("unit:\n  ns: 5%\n") }
        // Applied: a 30% slowdown is a regression at 10% and unchanged at 50%.
        let base = Self.run(1, seed: 1), slow = Self.run(1, scale: 1.3, seed: 2)
        #expect(Comparison.compare(baseline: base, current: slow).exitStatus == 1)
        #expect(Comparison.compare(baseline: base, current: slow, options: .init(thresholds: file)).exitStatus == 0)
    }

    @Test("Baselines: save refuses an incomplete run and an existing name, list and load find what was saved")
    func baselineStore() throws {
        try withTemporaryDirectory { directory in
            let store = BaselineStore(directory: directory + "/baselines")
            let result = Self.run(3, seed: 1)
            try result.encoded().write(to: URL(fileURLWithPath: directory + "/r.json"))
            try store.save("nightly", from: directory + "/r.json", replacing: false)
            #expect(store.list() == ["nightly"])
            #expect(try store.load("nightly").measurements.count == 3)
            #expect(throws: BaselineError.self) { try store.save("nightly", from: directory + "/r.json", replacing: false) }
            var incomplete = result
            incomplete.incomplete = true
            try incomplete.encoded().write(to: URL(fileURLWithPath: directory + "/i.json"))
            #expect(throws: BaselineError.self) { try store.save("partial", from: directory + "/i.json", replacing: false) }
            #expect(throws: BaselineError.self) { try store.load("absent") }
            #expect(throws: BaselineError.self) { try BaselineStore.validate(name: "../x") }
        }
    }
}
