import Foundation

/// The regularized incomplete beta function Iₓ(a, b), the engine behind Student's t.
enum IncompleteBeta {
    /// Iₓ(a, b), where the caller passes both `x` and its complement `1 − x`.
    ///
    /// Student's t reaches this with x = ν/(ν + t²); forming 1 − x afterwards would cancel away
    /// every digit for small t, whereas t²/(ν + t²) is exact to rounding.
    static func regularized(a: Double, b: Double, x: Double, complement: Double) -> Double {
        precondition(a > 0 && b > 0)
        if x <= 0 { return 0 }
        if complement <= 0 { return 1 }
        let logFront = a * logOf(x, complement: complement) + b * logOf(complement, complement: x) - logBeta(a, b)
        let front = exp(logFront)
        // The continued fraction converges quickly only left of the distribution's bulk; on the
        // right, evaluate the mirror image I₁₋ₓ(b, a) instead (Numerical Recipes §6.4).
        if x < (a + 1) / (a + b + 2) {
            return front * continuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - front * continuedFraction(a: b, b: a, x: complement) / b
    }

    /// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
    ///
    /// For Student's t with many degrees of freedom, a = ν/2 is large and ln Γ(a + ½) − ln Γ(a)
    /// cancels almost every digit of two numbers near a·ln a, costing 1e-10 at ν = 10⁵. There the
    /// difference comes from Stirling's series instead, where the large terms cancel analytically.
    static func logBeta(_ a: Double, _ b: Double) -> Double {
        let large = max(a, b)
        let small = min(a, b)
        guard large >= 20 else { return logGamma(a) + logGamma(b) - logGamma(a + b) }
        return logGamma(small) - logGammaIncrement(large, by: small)
    }

    /// ln Γ(x + s) − ln Γ(x) for large x, from the difference of Stirling's series at the two points.
    private static func logGammaIncrement(_ x: Double, by s: Double) -> Double {
        func stirlingCorrection(_ z: Double) -> Double {
            let inverse = 1 / z
            let inverseSquare = inverse * inverse
            return inverse * (1.0 / 12 - inverseSquare * (1.0 / 360 - inverseSquare * (1.0 / 1260 - inverseSquare / 1680)))
        }
        return (x - 0.5) * log1p(s / x) + s * log(x + s) - s + stirlingCorrection(x + s) - stirlingCorrection(x)
    }

    /// ln `value`, through log1p of its complement when `value` is near 1 and that is the exact one.
    private static func logOf(_ value: Double, complement: Double) -> Double {
        value > 0.5 ? log1p(-complement) : log(value)
    }

    /// ln Γ(x) for x > 0.
    static func logGamma(_ x: Double) -> Double {
        // Foundation and Glibc both declare `lgamma(Double)`, which makes the bare name ambiguous
        // in Swift; the reentrant variant has a single declaration.
        var sign: Int32 = 0
        return lgamma_r(x, &sign)
    }

    /// The continued fraction for Iₓ(a, b), evaluated by the modified Lentz method.
    private static func continuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300
        let epsilon = 1e-16
        let sum = a + b
        let aPlusOne = a + 1
        let aMinusOne = a - 1
        var c = 1.0
        var d = 1 - sum * x / aPlusOne
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var result = d
        for m in 1...10_000 {
            let m = Double(m)
            let twoM = 2 * m
            var coefficient = m * (b - m) * x / ((aMinusOne + twoM) * (a + twoM))
            d = 1 + coefficient * d
            if abs(d) < tiny { d = tiny }
            c = 1 + coefficient / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            result *= d * c
            coefficient = -(a + m) * (sum + m) * x / ((a + twoM) * (aPlusOne + twoM))
            d = 1 + coefficient * d
            if abs(d) < tiny { d = tiny }
            c = 1 + coefficient / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            result *= delta
            if abs(delta - 1) < epsilon { break }
        }
        return result
    }
}
