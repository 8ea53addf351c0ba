import OverlayStatistics
import Testing

struct NormalTests {
    struct Reference: Decodable {
        struct Quantile: Decodable { var p: Double; var value: Double }
        struct CDF: Decodable { var x: Double; var value: Double }
        var quantile: [Quantile]
        var cdf: [CDF]
    }

    @Test func quantileMatchesScipyNormPPF() throws {
        for point in try Fixture.load("norm", as: Fixture.Document<Reference>.self).cases.quantile {
            #expect(isClose(Normal.quantile(point.p), point.value, relative: 1e-14, absolute: 1e-15), "p \(point.p)")
        }
    }

    @Test func cdfMatchesScipyNormCDF() throws {
        for point in try Fixture.load("norm", as: Fixture.Document<Reference>.self).cases.cdf {
            // At x = −38 the true value, 2.9e-316, is subnormal; scipy's ndtr flushes it to 0.
            #expect(isClose(Normal.cdf(point.x), point.value, relative: 1e-13, absolute: 1e-300), "x \(point.x)")
        }
    }

    @Test func knownValuesAndSymmetry() {
        #expect(Normal.quantile(0.5) == 0)
        #expect(isClose(Normal.quantile(0.975), 1.959963984540054, relative: 1e-14))
        #expect(Normal.quantile(0) == -.infinity && Normal.quantile(1) == .infinity)
        #expect(Normal.cdf(0) == 0.5)
        for p in [1e-8, 0.01, 0.2, 0.45] {
            #expect(isClose(Normal.quantile(p), -Normal.quantile(1 - p), relative: 1e-9), "p \(p)")
            #expect(isClose(Normal.cdf(Normal.quantile(p)), p, relative: 1e-13), "p \(p)")
        }
        #expect(isClose(Normal.survival(8.5), Normal.cdf(-8.5), relative: 1e-15))
    }
}
