import Foundation
import OverlayStatistics
import Testing

struct DistributionSummaryTests {
    @Test func combinesPercentilesMedianIntervalAndOutliers() {
        var samples = (1...1000).map(Double.init)
        samples[17] = 50_000
        samples[600] = 90_000
        let summary = DistributionSummary(samples: samples)
        #expect(summary.percentiles.map(\.percentile) == LatencyHistogram.standardPercentiles)
        #expect(summary.percentiles.first?.value == 1)
        #expect(isClose(summary.percentiles.last?.value ?? 0, 90_000, relative: 1e-3))
        #expect(summary.medianCI.contains(Summary(samples: samples).p50))
        #expect(summary.medianCI.level == 0.95)
        #expect(summary.outlierIndices == [17, 600])
    }

    @Test func isReproducibleFromItsSeedAndRoundTripsThroughJSON() throws {
        let samples = normalSamples(count: 400, mean: 8000, standardDeviation: 900, seed: 6)
        let summary = DistributionSummary(samples: samples, seed: 12)
        #expect(summary == DistributionSummary(samples: samples, seed: 12))
        let decoded = try JSONDecoder().decode(DistributionSummary.self, from: JSONEncoder().encode(summary))
        #expect(decoded == summary)
    }
}
