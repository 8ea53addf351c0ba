import OverlayStatistics
import Testing

struct MannWhitneyTests {
    struct Case: Decodable {
        var name: String
        var x: [Double]
        var y: [Double]
        var u: Double
        var pValue: Double
    }

    @Test func matchesScipyAsymptoticTwoSided() throws {
        let cases = try Fixture.cases("mannwhitneyu", as: Case.self)
        #expect(cases.count >= 8)
        for testCase in cases {
            let result = MannWhitney.test(testCase.x, testCase.y)
            #expect(result.u == testCase.u, "\(testCase.name)")
            #expect(isClose(result.pValue, testCase.pValue, relative: 1e-10), "\(testCase.name): \(result.pValue)")
        }
    }

    @Test func swappingTheSamplesMirrorsU() {
        let x = normalSamples(count: 40, mean: 10, standardDeviation: 2, seed: 11)
        let y = normalSamples(count: 25, mean: 11, standardDeviation: 2, seed: 12)
        let forward = MannWhitney.test(x, y)
        let backward = MannWhitney.test(y, x)
        #expect(forward.u + backward.u == 40 * 25)
        #expect(isClose(forward.pValue, backward.pValue, relative: 1e-12))
    }

    @Test func separatedSamplesGiveExtremeU() {
        let low = (1...20).map(Double.init)
        let high = (101...120).map(Double.init)
        #expect(MannWhitney.test(low, high).u == 0)
        #expect(MannWhitney.test(high, low).u == 400)
        #expect(MannWhitney.test(low, high).pValue < 1e-6)
        #expect(MannWhitney.test(low, low).pValue == 1)
    }
}
