import OverlayStatistics
import Testing

struct LeastSquaresTests {
    struct Case: Decodable {
        var name: String
        var x: [Double]
        var y: [Double]
        var level: Double
        var slope: Double
        var intercept: Double
        var slopeLower: Double
        var slopeUpper: Double
        var interceptLower: Double
        var interceptUpper: Double
        var rSquared: Double
    }

    @Test func exactLineHasZeroWidthIntervals() {
        let x = (0..<10).map(Double.init)
        let fit = LeastSquares.fit(x: x, y: x.map { 3 + 2 * $0 })
        #expect(isClose(fit.slope, 2, relative: 1e-14))
        #expect(isClose(fit.intercept, 3, relative: 1e-14))
        #expect(fit.slopeCI.halfWidth < 1e-12 && fit.interceptCI.halfWidth < 1e-12)
        #expect(isClose(fit.rSquared, 1, relative: 1e-14))
        #expect(fit.n == 10 && fit.method == "least-squares")
    }

    @Test func matchesScipyLinregressWithTIntervals() throws {
        let cases = try Fixture.cases("linregress", as: Case.self)
        #expect(cases.count >= 6)
        for testCase in cases {
            let fit = LeastSquares.fit(x: testCase.x, y: testCase.y, level: testCase.level)
            let label = "\(testCase.name) at \(testCase.level)"
            #expect(isClose(fit.slope, testCase.slope, relative: 1e-10), "\(label)")
            #expect(isClose(fit.intercept, testCase.intercept, relative: 1e-10), "\(label)")
            #expect(isClose(fit.slopeCI.lower, testCase.slopeLower, relative: 1e-9), "\(label): \(fit.slopeCI)")
            #expect(isClose(fit.slopeCI.upper, testCase.slopeUpper, relative: 1e-9), "\(label): \(fit.slopeCI)")
            #expect(isClose(fit.interceptCI.lower, testCase.interceptLower, relative: 1e-9), "\(label): \(fit.interceptCI)")
            #expect(isClose(fit.interceptCI.upper, testCase.interceptUpper, relative: 1e-9), "\(label): \(fit.interceptCI)")
            #expect(isClose(fit.rSquared, testCase.rSquared, relative: 1e-10), "\(label)")
        }
    }

    @Test func nanosecondsPerLayer() {
        // A lookup costing 800 ns plus 45 ns per lower layer, measured five times per layer count.
        let seed: UInt64 = 9
        let layers: [Double] = [1, 2, 4, 8, 16, 32].flatMap { Array(repeating: $0, count: 5) }
        let noise = normalSamples(count: layers.count, mean: 0, standardDeviation: 10, seed: seed)
        let nanoseconds = zip(layers, noise).map { layer, error in 800 + 45 * layer + error }
        let fit = LeastSquares.fit(x: layers, y: nanoseconds)
        #expect(fit.slopeCI.contains(45), "seed \(seed): \(fit.slopeCI)")
        #expect(fit.interceptCI.contains(800), "seed \(seed): \(fit.interceptCI)")
        #expect(fit.slopeCI.halfWidth < 1.5, "seed \(seed): \(fit.slopeCI)")
    }
}
