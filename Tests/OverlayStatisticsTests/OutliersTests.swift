import OverlayStatistics
import Testing

struct OutliersTests {
    @Test func modifiedZScoresOfASmallSet() {
        // Median 3, absolute deviations 2, 1, 0, 1, 97, so MAD 1 and scores 0.6745·(x − 3).
        let scores = Outliers.modifiedZScores([1, 2, 3, 4, 100])
        let expected = [-1.349, -0.6745, 0, 0.6745, 65.4265]
        #expect(zip(scores, expected).allSatisfy { isClose($0, $1, relative: 1e-12) }, "\(scores)")
        #expect(Outliers.flag([1, 2, 3, 4, 100]) == [4])
    }

    @Test func injectedOutliersAreFlaggedAtTheirIndices() {
        let seed: UInt64 = 21
        var samples = normalSamples(count: 500, mean: 10_000, standardDeviation: 200, seed: seed)
        let injected = [7, 123, 256, 499]
        for index in injected { samples[index] = 10_000 + 40 * 200 }
        samples[300] = 10_000 - 30 * 200
        #expect(Outliers.flag(samples) == (injected + [300]).sorted(), "seed \(seed)")
    }

    @Test func thresholdIsHonoured() {
        // Median 4 and MAD 2, so 30 scores 0.6745·26/2 = 8.7685 (an outlier at 3.5, not at 10)
        // and 1 scores −1.0118 (an outlier only at a threshold below that).
        let samples: [Double] = [1, 2, 3, 4, 5, 6, 30]
        #expect(Outliers.flag(samples) == [6])
        #expect(Outliers.flag(samples, threshold: 10).isEmpty)
        #expect(Outliers.flag(samples, threshold: 1) == [0, 6])
    }

    @Test func zeroMADFallsBackToMeanAbsoluteDeviation() {
        // Median 5 and MAD 0; the mean absolute deviation is 95/7, so 100 scores 0.7979·95/(95/7) = 5.5853.
        let samples: [Double] = [5, 5, 5, 5, 5, 5, 100]
        let scores = Outliers.modifiedZScores(samples)
        #expect(isClose(scores[6], 0.7979 * 7, relative: 1e-12))
        #expect(scores.prefix(6).allSatisfy { $0 == 0 })
        #expect(Outliers.flag(samples) == [6])
    }

    @Test func constantDataFlagsNothing() {
        #expect(Outliers.modifiedZScores(Array(repeating: 42, count: 9)) == Array(repeating: 0, count: 9))
        #expect(Outliers.flag(Array(repeating: 42, count: 9)).isEmpty)
        #expect(Outliers.flag([]).isEmpty)
    }
}
