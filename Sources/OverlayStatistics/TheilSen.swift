/// The Theil–Sen estimator (Theil 1950, Sen 1968): the median of the slopes between all pairs
/// of points, robust to up to 29 % of the points being wild.
///
/// Benchmark sweeps (latency against layer count, against file size) carry the odd stalled
/// sample, which drags a least-squares line but not this one.
public enum TheilSen {
    /// The identifier recorded in ``LinearFit/method``.
    public static let identifier = "theil-sen"

    /// Fits y = intercept + slope·x robustly.
    ///
    /// - The slope is the median of the pairwise slopes, skipping pairs with equal x, and its
    ///   `level` interval is Sen's, from the tie-corrected variance of Kendall's S, exactly as
    ///   `scipy.stats.theilslopes`' `low_slope` and `high_slope`.
    /// - The intercept is median(y − slope·x) (scipy's `method='joint'`, not its default
    ///   `'separate'`); it has no closed-form interval, so `interceptCI` is a percentile bootstrap
    ///   over the points with `resamples` resamples drawn from `seed`.
    /// - `rSquared` is that of the fitted line, so it may be negative.
    public static func fit(
        x: [Double], y: [Double], level: Double = 0.95, resamples: Int = 1000, seed: UInt64 = 1
    ) -> LinearFit {
        LinearFit.validate(x: x, y: y, minimumCount: 2)
        precondition(level > 0 && level < 1, "a confidence level is a fraction strictly between 0 and 1")
        precondition(resamples > 0)

        var slopes = pairwiseSlopes(x: x, y: y)
        slopes.sort()
        let slope = OrderStatistics.median(sorted: slopes)
        let intercept = OrderStatistics.median(zip(x, y).map { $1 - slope * $0 })

        return LinearFit(
            intercept: intercept,
            slope: slope,
            slopeCI: senInterval(sortedSlopes: slopes, x: x, y: y, level: level),
            interceptCI: bootstrapInterceptInterval(
                x: x, y: y, level: level, resamples: resamples, seed: seed, fallback: intercept),
            rSquared: LinearFit.rSquared(x: x, y: y, intercept: intercept, slope: slope),
            n: x.count,
            method: identifier)
    }

    /// The slopes of every pair of points with distinct x, unsorted.
    private static func pairwiseSlopes(x: [Double], y: [Double]) -> [Double] {
        var slopes: [Double] = []
        slopes.reserveCapacity(x.count * (x.count - 1) / 2)
        for i in x.indices {
            for j in (i + 1)..<x.count where x[i] != x[j] {
                slopes.append((y[j] - y[i]) / (x[j] - x[i]))
            }
        }
        return slopes
    }

    /// Sen's (1968) distribution-free interval: the order statistics of the slopes that lie
    /// z·σ/2 either side of the middle, σ² being Var(S) of Kendall's S corrected for ties (eq. 2.6).
    private static func senInterval(sortedSlopes slopes: [Double], x: [Double], y: [Double], level: Double)
        -> ConfidenceInterval
    {
        // scipy's `alpha` doubles as the confidence level; it folds values below ½ the same way.
        let tail = level > 0.5 ? 1 - level : level
        let z = Normal.quantile(tail / 2)
        let n = Double(y.count)
        func tieTerm(_ values: [Double]) -> Double {
            Dictionary(grouping: values, by: { $0 }).values.reduce(0) { sum, group in
                let k = Double(group.count)
                return sum + k * (k - 1) * (2 * k + 5)
            }
        }
        let variance = (n * (n - 1) * (2 * n + 5) - tieTerm(x) - tieTerm(y)) / 18
        let sigma = variance.squareRoot()
        let count = Double(slopes.count)
        // numpy's `round` rounds halves to even; matching it picks the same order statistic as scipy.
        let upperIndex = min(Int(((count - z * sigma) / 2).rounded(.toNearestOrEven)), slopes.count - 1)
        let lowerIndex = max(Int(((count + z * sigma) / 2).rounded(.toNearestOrEven)) - 1, 0)
        return ConfidenceInterval(lower: slopes[lowerIndex], upper: slopes[upperIndex], level: level)
    }

    /// A percentile-bootstrap interval for the intercept, refitting slope and intercept on each
    /// resample of the points.
    private static func bootstrapInterceptInterval(
        x: [Double], y: [Double], level: Double, resamples: Int, seed: UInt64, fallback: Double
    ) -> ConfidenceInterval {
        var generator = SeededGenerator(seed: seed)
        let count = x.count
        var sampleX = [Double](repeating: 0, count: count)
        var sampleY = [Double](repeating: 0, count: count)
        var slopes: [Double] = []
        slopes.reserveCapacity(count * (count - 1) / 2)
        var residuals = [Double](repeating: 0, count: count)
        var intercepts: [Double] = []
        intercepts.reserveCapacity(resamples)
        // A resample whose points all share one x has no slope; it is redrawn, within a bound
        // so that data with a single x value repeated almost everywhere still terminates.
        var attempts = 0
        while intercepts.count < resamples && attempts < resamples * 10 {
            attempts += 1
            for index in 0..<count {
                let drawn = generator.index(below: count)
                sampleX[index] = x[drawn]
                sampleY[index] = y[drawn]
            }
            slopes.removeAll(keepingCapacity: true)
            for i in 0..<count {
                for j in (i + 1)..<count where sampleX[i] != sampleX[j] {
                    slopes.append((sampleY[j] - sampleY[i]) / (sampleX[j] - sampleX[i]))
                }
            }
            guard !slopes.isEmpty else { continue }
            let slope = OrderStatistics.median(inPlace: &slopes)
            for index in 0..<count {
                residuals[index] = sampleY[index] - slope * sampleX[index]
            }
            intercepts.append(OrderStatistics.median(inPlace: &residuals))
        }
        guard !intercepts.isEmpty else {
            return ConfidenceInterval(lower: fallback, upper: fallback, level: level)
        }
        return Bootstrap.percentileInterval(of: &intercepts, level: level)
    }
}
