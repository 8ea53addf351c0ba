import OverlayStatistics
import Testing

struct SummaryTests {
    struct PercentileCase: Decodable {
        var name: String
        var samples: [Double]
        var percentiles: [Double]
        var values: [Double]
    }

    @Test func percentilesMatchNumpy() throws {
        for testCase in try Fixture.cases("percentile", as: PercentileCase.self) {
            let sorted = testCase.samples.sorted()
            for (p, expected) in zip(testCase.percentiles, testCase.values) {
                #expect(isClose(Summary.percentile(sorted: sorted, p), expected, relative: 1e-12), "\(testCase.name) p\(p)")
            }
        }
    }

    @Test func uniformOneToThousand() {
        var generator = SeededGenerator(seed: 5)
        let summary = Summary(samples: (1...1000).map(Double.init).shuffled(using: &generator))
        #expect(summary.n == 1000)
        #expect(summary.min == 1 && summary.max == 1000)
        #expect(summary.p50 == 500.5)
        #expect(isClose(summary.p90, 900.1, relative: 1e-12))
        #expect(summary.mean == 500.5)
    }
}
