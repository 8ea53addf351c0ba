/// Ordinary least squares with the classical Student-t intervals (normal, independent errors
/// of constant variance), as `scipy.stats.linregress` computes the estimates and standard errors.
///
/// Where those assumptions hold, as for the per-layer cost of a lookup measured at several
/// layer counts, it is the most efficient line; ``TheilSen`` is the robust alternative.
public enum LeastSquares {
    /// The identifier recorded in ``LinearFit/method``.
    public static let identifier = "least-squares"

    /// Fits y = intercept + slope·x by least squares, with `level` t intervals on n − 2 degrees
    /// of freedom for both coefficients. Needs at least three points, two of them at distinct x.
    public static func fit(x: [Double], y: [Double], level: Double = 0.95) -> LinearFit {
        LinearFit.validate(x: x, y: y, minimumCount: 3)
        precondition(level > 0 && level < 1, "a confidence level is a fraction strictly between 0 and 1")
        let n = Double(x.count)
        let meanX = x.reduce(0, +) / n
        let meanY = y.reduce(0, +) / n
        var sxx = 0.0
        var sxy = 0.0
        for (xi, yi) in zip(x, y) {
            sxx += (xi - meanX) * (xi - meanX)
            sxy += (xi - meanX) * (yi - meanY)
        }
        let slope = sxy / sxx
        let intercept = meanY - slope * meanX

        var residualSquares = 0.0
        for (xi, yi) in zip(x, y) {
            let residual = yi - (intercept + slope * xi)
            residualSquares += residual * residual
        }
        let residualVariance = residualSquares / (n - 2)
        let slopeError = (residualVariance / sxx).squareRoot()
        let interceptError = (residualVariance * (1 / n + meanX * meanX / sxx)).squareRoot()
        let t = StudentT.quantile((1 + level) / 2, degreesOfFreedom: n - 2)

        return LinearFit(
            intercept: intercept,
            slope: slope,
            slopeCI: ConfidenceInterval(lower: slope - t * slopeError, upper: slope + t * slopeError, level: level),
            interceptCI: ConfidenceInterval(
                lower: intercept - t * interceptError, upper: intercept + t * interceptError, level: level),
            rSquared: LinearFit.rSquared(x: x, y: y, intercept: intercept, slope: slope),
            n: x.count,
            method: identifier)
    }
}
