import OverlayStatistics
import Testing

struct StudentTTests {
    struct Quantile: Decodable {
        var p: Double
        var df: Double
        var value: Double
    }

    @Test func quantileMatchesScipyTPPF() throws {
        let cases = try Fixture.cases("t_ppf", as: Quantile.self)
        #expect(cases.count > 200)
        for point in cases {
            let actual = StudentT.quantile(point.p, degreesOfFreedom: point.df)
            #expect(isClose(actual, point.value, relative: 1e-12, absolute: 1e-15), "p \(point.p), df \(point.df): \(actual)")
        }
    }

    @Test func cdfInvertsQuantile() {
        for df in [1.0, 2.5, 4, 9, 40] {
            for p in [1e-7, 0.01, 0.3, 0.5, 0.8, 0.999] {
                let t = StudentT.quantile(p, degreesOfFreedom: df)
                #expect(isClose(StudentT.cdf(t, degreesOfFreedom: df), p, relative: 1e-11), "p \(p), df \(df)")
            }
        }
    }

    @Test func knownValues() {
        // t₀.₉₇₅ with 1, 10 and 30 degrees of freedom, as scipy.stats.t.ppf gives them.
        #expect(isClose(StudentT.quantile(0.975, degreesOfFreedom: 1), 12.706204736174694, relative: 1e-12))
        #expect(isClose(StudentT.quantile(0.975, degreesOfFreedom: 10), 2.228138851986274, relative: 1e-12))
        #expect(isClose(StudentT.quantile(0.975, degreesOfFreedom: 30), 2.0422724563012378, relative: 1e-12))
        #expect(StudentT.quantile(0.5, degreesOfFreedom: 7) == 0)
        #expect(StudentT.cdf(0, degreesOfFreedom: 3) == 0.5)
        #expect(isClose(StudentT.quantile(0.975, degreesOfFreedom: 1e9), Normal.quantile(0.975), relative: 1e-8))
    }
}
