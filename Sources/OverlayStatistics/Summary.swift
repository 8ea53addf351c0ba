/// Descriptive statistics of one sample set, as every measurement in a result file carries them.
///
/// Percentiles are interpolated linearly between order statistics (Hyndman and Fan's type 7,
/// numpy's and R's default), so they agree with `numpy.percentile` on the raw samples.
public struct Summary: Codable, Sendable, Equatable {
    public var n: Int
    public var min: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var max: Double
    public var mean: Double
    /// The sample standard deviation (n − 1 in the denominator); 0 for a single sample.
    public var stddev: Double

    public init(samples: [Double]) {
        precondition(!samples.isEmpty, "a summary needs at least one sample")
        let sorted = samples.sorted()
        n = sorted.count
        min = sorted[0]
        max = sorted[sorted.count - 1]
        p50 = Self.percentile(sorted: sorted, 50)
        p90 = Self.percentile(sorted: sorted, 90)
        p99 = Self.percentile(sorted: sorted, 99)
        let mean = sorted.reduce(0, +) / Double(n)
        self.mean = mean
        if n > 1 {
            let squares = sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            stddev = (squares / Double(n - 1)).squareRoot()
        } else {
            stddev = 0
        }
    }

    /// The `p`th percentile (0…100) of already sorted values, by linear interpolation (type 7).
    public static func percentile(sorted: [Double], _ p: Double) -> Double {
        precondition(!sorted.isEmpty && (0...100).contains(p))
        let rank = p / 100 * Double(sorted.count - 1)
        let lower = Int(rank.rounded(.down))
        let upper = Swift.min(lower + 1, sorted.count - 1)
        let fraction = rank - Double(lower)
        return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
    }
}
