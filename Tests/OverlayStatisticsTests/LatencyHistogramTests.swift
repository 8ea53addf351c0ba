import Foundation
import OverlayStatistics
import Testing

struct LatencyHistogramTests {
    @Test func uniformOneToThousandHasExactPercentiles() {
        var histogram = LatencyHistogram()
        for value in UInt64(1)...1000 { histogram.record(value) }
        #expect(histogram.count == 1000)
        // Values below 2048 are exact at three significant digits, and HdrHistogram's percentile is
        // the smallest value with at least p % of the samples at or below it.
        let expected: [Double: Double] = [
            0: 1, 1: 10, 5: 50, 10: 100, 25: 250, 50: 500, 75: 750, 90: 900, 95: 950, 99: 990, 99.9: 999, 100: 1000,
        ]
        for point in histogram.percentiles {
            #expect(point.value == expected[point.percentile], "p\(point.percentile)")
        }
        #expect(histogram.percentiles.map(\.percentile) == LatencyHistogram.standardPercentiles)
    }

    @Test func constantDataHasEveryPercentileEqual() {
        let histogram = LatencyHistogram.from(samples: Array(repeating: 1500, count: 37))
        #expect(histogram.percentiles.allSatisfy { $0.value == 1500 })
    }

    @Test func largeValuesKeepThreeSignificantDigits() {
        var histogram = LatencyHistogram()
        histogram.record(1_234_567_890)
        #expect(isClose(histogram.percentile(50), 1_234_567_890, relative: 1e-3))
    }

    @Test func valuesBeyondAnHourAreClampedNotDropped() {
        var histogram = LatencyHistogram()
        histogram.record(.max)
        histogram.record(5)
        #expect(histogram.count == 2)
        #expect(isClose(histogram.percentile(100), Double(LatencyHistogram.highestTrackableNanoseconds), relative: 1e-3))
    }

    @Test func samplesAreRoundedAndNegativesCountAsZero() {
        let histogram = LatencyHistogram.from(samples: [-3, 10.4, 10.6])
        #expect(histogram.count == 3)
        #expect(histogram.percentile(0) == 0)
        #expect(histogram.percentile(50) == 10)
        #expect(histogram.percentile(100) == 11)
    }

    @Test func emptyHistogramReportsZeroAndNoCDF() {
        let histogram = LatencyHistogram()
        #expect(histogram.count == 0)
        #expect(histogram.percentile(50) == 0)
        #expect(histogram.cdf(points: 10).isEmpty)
    }

    @Test func cdfRunsFromMinimumToMaximumWithoutDecreasing() {
        let histogram = LatencyHistogram.from(samples: normalSamples(count: 5000, mean: 20_000, standardDeviation: 3000, seed: 3))
        let cdf = histogram.cdf(points: 101)
        #expect(cdf.count == 101)
        #expect(cdf.first?.fraction == 0 && cdf.first?.value == histogram.percentile(0))
        #expect(cdf.last?.fraction == 1 && cdf.last?.value == histogram.percentile(100))
        #expect(zip(cdf, cdf.dropFirst()).allSatisfy { $0.value <= $1.value && $0.fraction < $1.fraction })
        #expect(cdf[50].value == histogram.percentile(50))
    }

    @Test func mergingEqualsRecordingEverything() {
        var left = LatencyHistogram.from(samples: [1, 2, 3])
        left.add(LatencyHistogram.from(samples: [4, 5]))
        #expect(left == LatencyHistogram.from(samples: [1, 2, 3, 4, 5]))
    }

    @Test func survivesAJSONRoundTrip() throws {
        let histogram = LatencyHistogram.from(samples: [100, 2500, 40_000, 7_000_000])
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: JSONEncoder().encode(histogram))
        #expect(decoded == histogram)
        #expect(decoded.percentiles == histogram.percentiles)
    }
}
