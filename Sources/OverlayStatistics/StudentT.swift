import Foundation

/// Student's t distribution with ν degrees of freedom, for least-squares confidence intervals.
public enum StudentT {
    /// P(T ≤ t) for ν = `degreesOfFreedom` > 0.
    public static func cdf(_ t: Double, degreesOfFreedom: Double) -> Double {
        t >= 0 ? 1 - survival(t, degreesOfFreedom: degreesOfFreedom) : survival(-t, degreesOfFreedom: degreesOfFreedom)
    }

    /// P(T > t), accurate deep into the upper tail where `1 − cdf` would round to 0.
    public static func survival(_ t: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(nu > 0, "Student's t needs positive degrees of freedom")
        if t < 0 { return 1 - survival(-t, degreesOfFreedom: nu) }
        if t.isInfinite { return 0 }
        let square = t * t
        // P(|T| > t) = I_{ν/(ν+t²)}(ν/2, 1/2) (Abramowitz and Stegun 26.7.1 with 26.5.27).
        let twoSided = IncompleteBeta.regularized(
            a: nu / 2, b: 0.5, x: nu / (nu + square), complement: square / (nu + square))
        return twoSided / 2
    }

    /// The `p` quantile (inverse CDF), as `scipy.stats.t.ppf(p, ν)`.
    ///
    /// Exact closed forms for ν = 1 and 2; otherwise Newton's method on log P(T > t), started from
    /// the Cornish–Fisher expansion around the normal quantile and kept inside a bracketing
    /// interval so a poor start in a heavy tail cannot diverge.
    public static func quantile(_ p: Double, degreesOfFreedom nu: Double) -> Double {
        precondition(p >= 0 && p <= 1, "a probability lies in 0...1")
        precondition(nu > 0, "Student's t needs positive degrees of freedom")
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        // 1 − p is exact for p ≥ 0.5 (Sterbenz), so folding onto the upper tail loses nothing.
        let tail = p < 0.5 ? p : 1 - p
        let magnitude = upperTailQuantile(tail, nu: nu)
        return p < 0.5 ? -magnitude : magnitude
    }

    /// The t > 0 with P(T > t) = `tail`, for 0 < tail < 0.5.
    private static func upperTailQuantile(_ tail: Double, nu: Double) -> Double {
        if nu == 1 { return 1 / tan(Double.pi * tail) }
        if nu == 2 { return (1 - 2 * tail) / (2 * tail * (1 - tail)).squareRoot() }
        let start = cornishFisher(Normal.quantile(1 - tail), nu: nu)
        if nu > 1e7 { return start }

        var low = 0.0
        var high = start
        while survival(high, degreesOfFreedom: nu) > tail {
            low = high
            high *= 2
        }
        var t = start
        let logTail = log(tail)
        for _ in 0..<200 {
            let upper = survival(t, degreesOfFreedom: nu)
            if upper > tail { low = t } else { high = t }
            // Newton on log P(T > t): its curvature suits both the bulk and the power-law tail.
            var next = t + (log(upper) - logTail) * upper / density(t, nu: nu)
            if !(next > low && next < high) {
                next = low > 0 ? (low * high).squareRoot() : high / 2
            }
            if abs(next - t) <= 1e-15 * t { return next }
            t = next
        }
        return t
    }

    /// The probability density at `t`.
    private static func density(_ t: Double, nu: Double) -> Double {
        // Written through B(ν/2, ½) rather than Γ((ν+1)/2)/Γ(ν/2) so that large ν gets
        // logBeta's cancellation-free form.
        let logNormalizer = -IncompleteBeta.logBeta(nu / 2, 0.5) - 0.5 * log(nu)
        return exp(logNormalizer - (nu + 1) / 2 * log1p(t * t / nu))
    }

    /// The Cornish–Fisher expansion of the t quantile in powers of 1/ν around the normal quantile
    /// `z` (Abramowitz and Stegun 26.7.5).
    private static func cornishFisher(_ z: Double, nu: Double) -> Double {
        let z2 = z * z
        let g1 = (z2 + 1) * z / 4
        let g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
        let g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
        let g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
        return z + g1 / nu + g2 / (nu * nu) + g3 / (nu * nu * nu) + g4 / (nu * nu * nu * nu)
    }
}
