import Foundation
import OverlayStatistics
import OverlaySuite
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
        // Repeats that moved the p50 by about 40 % leave a 30 % shift inside the noise.
        current.repeatSpread = RepeatSpread(p50s: [1.0, 1.6, 1.1])
        let measured = Comparison.compare(baseline: baseline, current: current)
        #expect(measured.decisionInterval!.lower < assumed.decisionInterval!.lower)
        #expect(measured.verdict == .unchanged)
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
            #expect(entry.decisionInterval!.lower > 1.05)
            #expect(entry.pValue! < comparison.perMetricAlpha)
        }
        #expect(comparison.exitStatus == 1)
        #expect(comparison.markdown().contains("6 regression(s)"))
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

    @Test("Kernel, backing filesystem and size differences are each named")
    func otherDifferences() {
        let baseline = ResultFixtures.copyUpRun(seed: 91)
        let kernel = Comparison.compare(baseline: baseline, current: ResultFixtures.copyUpRun(seed: 92, kernel: "6.9.0"))
        #expect(kernel.differences == [.init(what: "kernel", baseline: "6.8.0-test", current: "6.9.0")])
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
}
