import Foundation
import OverlayStatistics
import OverlaySuite
import Testing

/// `run` warns when a configuration's samples cannot resolve its suite's threshold (issue 14,
/// item 5), judged on constructed measurements whose spread is known.
@Suite("Resolution check")
struct ResolutionCheckTests {
    /// `count` latencies around 1 ms with a log-normal spread of `sigma` (seeded).
    static func latencies(_ count: Int, sigma: Double, seed: UInt64) -> OverlaySuite.Measurement {
        var random = SeededGenerator(seed: seed)
        let samples = (0..<count).map { _ in
            // Box–Muller from two uniforms in (0, 1].
            let u = Double.random(in: Double.ulpOfOne...1, using: &random)
            let v = Double.random(in: 0..<1, using: &random)
            return 1_000_000 * exp(sigma * (-2 * log(u)).squareRoot() * cos(2 * .pi * v))
        }
        return OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "latency", unit: "ns",
                           parameters: ["depth": .int(16)], samples: samples)
    }

    @Test("tight samples resolve a 5% threshold: no finding")
    func tightSamplesResolve() {
        #expect(ResolutionCheck.check(Self.latencies(10, sigma: 0.005, seed: 1), threshold: 0.05) == nil)
    }

    @Test("noisy samples do not, and the count the check suggests does")
    func noisySamplesGetACount() throws {
        let finding = try #require(ResolutionCheck.check(Self.latencies(10, sigma: 0.10, seed: 2), threshold: 0.05))
        #expect(finding.samples == 10)
        #expect(finding.resolution > 0.05)
        let suggested = try #require(finding.suggestedSamples)
        #expect(suggested > 10)
        #expect(finding.message.contains("about \(suggested) samples would resolve it"))
        // The same distribution at the suggested count (with a margin for the estimate's own
        // noise) resolves the threshold.
        let more = Self.latencies(suggested * 3 / 2, sigma: 0.10, seed: 3)
        #expect(ResolutionCheck.check(more, threshold: 0.05) == nil)
    }

    @Test("a between-repeat spread wider than the threshold: no count can, and the warning says so")
    func repeatSpreadAloneIsTooWide() throws {
        var measurement = Self.latencies(40, sigma: 0.005, seed: 4)
        measurement.repeats = (0..<40).map { $0 / 10 }
        measurement.repeatSpread = RepeatSpread(p50s: [1.0e6, 1.2e6, 0.9e6, 1.15e6])
        let finding = try #require(ResolutionCheck.check(measurement, threshold: 0.05))
        #expect(finding.suggestedSamples == nil)
        #expect(finding.message.contains("no sample count can"))
    }

    @Test("one value, or a skipped measurement, has nothing to judge")
    func nothingToJudge() {
        let counter = OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "upperBytes", unit: "bytes",
                                  parameters: [:], samples: [4096])
        #expect(ResolutionCheck.check(counter, threshold: 0.01) == nil)
    }

    @Test("a suite and its entries carry thresholds; a bad one names its line")
    func suiteThresholds() throws {
        let suite = try SuiteFile.parse("""
            name: t
            threshold: 5%
            probes:
              - probe: lookup
              - probe: read
                threshold: 0.2
            """)
        #expect(suite.threshold == 0.05)
        #expect(suite.probes[0].threshold == nil)
        #expect(suite.probes[1].threshold == 0.2)
        let error = try #require(throws: SuiteFileError.self) {
            try SuiteFile.parse("name: t\nprobes:\n  - probe: lookup\n    threshold: 150%\n", file: "t.yaml")
        }
        #expect(error.description == "t.yaml:4: key \"threshold\" is \"150%\": a threshold is a percentage in [0%, 100%) such as 10%")
    }
}
