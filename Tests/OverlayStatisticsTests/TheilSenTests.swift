import OverlayStatistics
import Testing

struct TheilSenTests {
    struct Case: Decodable {
        var name: String
        var x: [Double]
        var y: [Double]
        var level: Double
        var slope: Double
        var intercept: Double
        var lowSlope: Double
        var highSlope: Double
    }

    @Test func exactLineIsRecoveredExactly() {
        let x = (0..<12).map(Double.init)
        let fit = TheilSen.fit(x: x, y: x.map { 3 + 2 * $0 })
        #expect(fit.slope == 2 && fit.intercept == 3)
        #expect(fit.slopeCI == ConfidenceInterval(lower: 2, upper: 2, level: 0.95))
        #expect(fit.interceptCI == ConfidenceInterval(lower: 3, upper: 3, level: 0.95))
        #expect(fit.rSquared == 1)
        #expect(fit.n == 12 && fit.method == "theil-sen")
    }

    @Test func matchesScipyTheilslopesJoint() throws {
        let cases = try Fixture.cases("theilslopes", as: Case.self)
        #expect(cases.count >= 10)
        for testCase in cases {
            let fit = TheilSen.fit(x: testCase.x, y: testCase.y, level: testCase.level)
            let label = "\(testCase.name) at \(testCase.level)"
            #expect(isClose(fit.slope, testCase.slope, relative: 1e-12), "\(label): slope \(fit.slope)")
            #expect(isClose(fit.intercept, testCase.intercept, relative: 1e-12, absolute: 1e-12), "\(label): intercept \(fit.intercept)")
            #expect(isClose(fit.slopeCI.lower, testCase.lowSlope, relative: 1e-12), "\(label): \(fit.slopeCI)")
            #expect(isClose(fit.slopeCI.upper, testCase.highSlope, relative: 1e-12), "\(label): \(fit.slopeCI)")
            #expect(fit.interceptCI.contains(fit.intercept), "\(label): \(fit.interceptCI)")
        }
    }

    @Test func aWildPointDoesNotMoveTheSlope() {
        let x = (0..<15).map(Double.init)
        var y = x.map { 10 + 4 * $0 }
        y[13] = 5_000
        let fit = TheilSen.fit(x: x, y: y)
        #expect(fit.slope == 4 && fit.intercept == 10)
        #expect(LeastSquares.fit(x: x, y: y).slope > 40)
    }

    @Test func rSquaredCanBeNegative() {
        // Six of the ten pairwise slopes are 0, so the robust line is y = 0; the mean line does better.
        let fit = TheilSen.fit(x: [0, 1, 2, 3, 4], y: [0, 0, 0, 0, 100])
        #expect(fit.slope == 0 && fit.intercept == 0)
        #expect(fit.rSquared == -0.25)
    }

    @Test func repeatedXValuesAreSkippedNotDividedByZero() {
        let x: [Double] = [1, 1, 1, 2, 2, 2, 3, 3, 3]
        let y: [Double] = [10, 11, 12, 20, 21, 22, 30, 31, 32]
        let fit = TheilSen.fit(x: x, y: y)
        #expect(fit.slope == 10 && fit.intercept == 1)
        #expect(fit.slopeCI.lower.isFinite && fit.slopeCI.upper.isFinite)
    }

    @Test func interceptIntervalIsReproducibleFromItsSeed() {
        let seed: UInt64 = 77
        let x = (0..<40).map { Double($0 % 8 + 1) }
        let noise = normalSamples(count: 40, mean: 0, standardDeviation: 5, seed: seed)
        let y = zip(x, noise).map { xi, error in 200 + 30 * xi + error }
        let fit = TheilSen.fit(x: x, y: y, seed: seed)
        #expect(fit == TheilSen.fit(x: x, y: y, seed: seed))
        #expect(fit.interceptCI != TheilSen.fit(x: x, y: y, seed: seed + 1).interceptCI)
        #expect(fit.interceptCI.contains(fit.intercept), "seed \(seed): \(fit.interceptCI)")
        #expect(fit.rSquared > 0.9 && fit.rSquared < 1)
    }

    @Test func intervalsCoverTheTrueLineAboutAsOftenAsTheirLevel() {
        // One interval may miss by design; over 200 noisy lines a 95 % interval should miss about
        // 10 times. Binomial(200, 0.05) lies in 2...22 with probability above 0.9999.
        let trials = 200
        var slopeMisses = 0
        var interceptMisses = 0
        for trial in 0..<trials {
            let seed = UInt64(1000 + trial)
            let x = (0..<24).map { Double($0 % 6 + 1) }
            let noise = normalSamples(count: x.count, mean: 0, standardDeviation: 4, seed: seed)
            let y = zip(x, noise).map { xi, error in 50 + 7 * xi + error }
            let fit = TheilSen.fit(x: x, y: y, resamples: 200, seed: seed)
            if !fit.slopeCI.contains(7) { slopeMisses += 1 }
            if !fit.interceptCI.contains(50) { interceptMisses += 1 }
        }
        #expect((2...22).contains(slopeMisses), "seeds 1000..<1200: \(slopeMisses) slope misses")
        #expect((2...22).contains(interceptMisses), "seeds 1000..<1200: \(interceptMisses) intercept misses")
    }
}
