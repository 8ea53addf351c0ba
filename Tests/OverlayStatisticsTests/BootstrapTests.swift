import OverlayStatistics
import Testing

struct BootstrapTests {
    @Test func medianIntervalOfALargeNormalSampleContainsTheTrueMedian() {
        let seed: UInt64 = 2024
        let samples = normalSamples(count: 4001, mean: 50_000, standardDeviation: 2_500, seed: seed)
        let interval = Bootstrap.medianCI(samples, seed: seed)
        #expect(interval.contains(50_000), "seed \(seed): \(interval)")
        #expect(interval.contains(Summary(samples: samples).p50))
        // The median's standard error is about 1.2533·σ/√n ≈ 50, so the 95 % interval spans about ±100.
        #expect(interval.halfWidth > 50 && interval.halfWidth < 200, "seed \(seed): \(interval)")
        #expect(interval.level == 0.95)
    }

    @Test func seededRunsAreReproducible() {
        let samples = normalSamples(count: 301, mean: 10, standardDeviation: 3, seed: 8)
        #expect(Bootstrap.medianCI(samples, seed: 99) == Bootstrap.medianCI(samples, seed: 99))
        #expect(Bootstrap.medianCI(samples, seed: 99) != Bootstrap.medianCI(samples, seed: 100))
        let baseline = normalSamples(count: 200, mean: 10, standardDeviation: 1, seed: 1)
        let current = normalSamples(count: 150, mean: 12, standardDeviation: 1, seed: 2)
        let first = Bootstrap.ratioOfMediansCI(baseline: baseline, current: current, seed: 5)
        let second = Bootstrap.ratioOfMediansCI(baseline: baseline, current: current, seed: 5)
        #expect(first.ratio == second.ratio && first.ci == second.ci)
    }

    @Test func higherLevelsGiveWiderNestedIntervals() {
        let samples = normalSamples(count: 501, mean: 0, standardDeviation: 1, seed: 13)
        let narrow = Bootstrap.medianCI(samples, level: 0.80, seed: 3)
        let wide = Bootstrap.medianCI(samples, level: 0.99, seed: 3)
        #expect(wide.lower <= narrow.lower && narrow.upper <= wide.upper)
        #expect(wide.halfWidth > narrow.halfWidth)
    }

    @Test func constantAndSingletonSamplesHaveZeroWidth() {
        #expect(Bootstrap.medianCI(Array(repeating: 7, count: 50)) == ConfidenceInterval(lower: 7, upper: 7, level: 0.95))
        #expect(Bootstrap.medianCI([3.25]) == ConfidenceInterval(lower: 3.25, upper: 3.25, level: 0.95))
    }

    @Test func shiftedCopyGivesTheKnownRatio() {
        let seed: UInt64 = 17
        let baseline = normalSamples(count: 1001, mean: 1000, standardDeviation: 50, seed: seed)
        let median = Summary(samples: baseline).p50
        let shifted = baseline.map { $0 + 250 }
        let result = Bootstrap.ratioOfMediansCI(baseline: baseline, current: shifted, seed: seed)
        #expect(isClose(result.ratio, (median + 250) / median, relative: 1e-12))
        #expect(result.ci.contains(result.ratio), "seed \(seed): \(result.ci)")

        let doubled = baseline.map { $0 * 2 }
        let scaled = Bootstrap.ratioOfMediansCI(baseline: baseline, current: doubled, level: 0.9, seed: seed)
        #expect(scaled.ratio == 2)
        #expect(scaled.ci.contains(2) && scaled.ci.level == 0.9, "seed \(seed): \(scaled.ci)")
        #expect(scaled.ci.halfWidth < 0.02, "seed \(seed): \(scaled.ci)")
    }

    @Test func identicalDistributionsGiveARatioIntervalAroundOne() {
        let baseline = normalSamples(count: 800, mean: 300, standardDeviation: 30, seed: 31)
        let current = normalSamples(count: 800, mean: 300, standardDeviation: 30, seed: 32)
        let result = Bootstrap.ratioOfMediansCI(baseline: baseline, current: current, seed: 4)
        #expect(result.ci.contains(1), "seeds 31, 32, 4: \(result.ci)")
    }
}
