import OverlayStatistics
import Testing

struct AdaptiveSamplerTests {
    /// Feeds `source` to the sampler one sample at a time, with `elapsed(count)` as the clock.
    private func run(
        _ sampler: inout AdaptiveSampler, source: [Double], elapsed: (Int) -> UInt64 = { _ in 0 }
    ) -> [Double] {
        var samples: [Double] = []
        while sampler.shouldContinue(samples: samples, elapsedNanoseconds: elapsed(samples.count)) {
            samples.append(source[samples.count])
        }
        return samples
    }

    @Test func withoutATargetItSamplesToTheMaximum() {
        var sampler = AdaptiveSampler(
            minimumSamples: 5, maximumSamples: 40, targetRelativeHalfWidth: nil, timeBudgetNanoseconds: nil)
        let samples = run(&sampler, source: normalSamples(count: 100, mean: 100, standardDeviation: 10, seed: 1))
        #expect(samples.count == 40)
        #expect(sampler.stopReason == .maximumSamples)
        #expect(sampler.lastRelativeHalfWidth == nil)
    }

    @Test func theMinimumOutranksASpentTimeBudget() {
        var sampler = AdaptiveSampler(
            minimumSamples: 12, maximumSamples: 1000, targetRelativeHalfWidth: nil, timeBudgetNanoseconds: 1)
        let samples = run(&sampler, source: Array(repeating: 5, count: 100), elapsed: { _ in 1_000_000 })
        #expect(samples.count == 12)
        #expect(sampler.stopReason == .timeBudget)
    }

    @Test func theTimeBudgetStopsSampling() {
        var sampler = AdaptiveSampler(
            minimumSamples: 3, maximumSamples: 1000, targetRelativeHalfWidth: 1e-9, timeBudgetNanoseconds: 50_000)
        // Each sample "takes" 1 µs of the simulated clock.
        let samples = run(&sampler, source: normalSamples(count: 1000, mean: 100, standardDeviation: 10, seed: 2),
                          elapsed: { UInt64($0) * 1000 })
        #expect(samples.count == 50)
        #expect(sampler.stopReason == .timeBudget)
    }

    @Test func constantDataReachesAnyTargetAtTheFirstCheck() {
        var sampler = AdaptiveSampler(
            minimumSamples: 3, maximumSamples: 1000, targetRelativeHalfWidth: 0.001, timeBudgetNanoseconds: nil)
        let samples = run(&sampler, source: Array(repeating: 250, count: 1000))
        #expect(samples.count == 10)
        #expect(sampler.stopReason == .targetPrecision)
        #expect(sampler.lastRelativeHalfWidth == 0)
    }

    @Test func noisyDataStopsOnceTheMedianIsPreciseEnough() {
        let seed: UInt64 = 3
        let source = normalSamples(count: 20_000, mean: 1000, standardDeviation: 100, seed: seed)
        var sampler = AdaptiveSampler(
            minimumSamples: 20, maximumSamples: 20_000, targetRelativeHalfWidth: 0.01, timeBudgetNanoseconds: nil)
        let samples = run(&sampler, source: source)
        #expect(sampler.stopReason == .targetPrecision, "seed \(seed)")
        // ±1 % of the median is ±10; the median's 95 % half-width is 1.96·1.2533·100/√n, so n ≈ 600.
        #expect(samples.count > 300 && samples.count < 1200, "seed \(seed): \(samples.count)")
        #expect((sampler.lastRelativeHalfWidth ?? 1) <= 0.01)

        var tighter = AdaptiveSampler(
            minimumSamples: 20, maximumSamples: 20_000, targetRelativeHalfWidth: 0.005, timeBudgetNanoseconds: nil)
        #expect(run(&tighter, source: source).count > samples.count, "seed \(seed)")
    }
}
