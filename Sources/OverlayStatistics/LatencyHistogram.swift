import Histogram

/// A latency distribution in nanoseconds, kept as an HDR histogram with three significant digits.
///
/// Unlike ``Summary`` it holds no raw samples: memory is fixed whatever the count, so a probe can
/// record millions of operations, and two histograms merge by addition. Values are exact up to 2048 ns
/// and within 0.1 % above that, from 1 ns to one hour; longer values are recorded as one hour.
///
/// Percentiles follow HdrHistogram's nearest-rank definition (the ⌈p·n/100⌉-th smallest value,
/// reported as the top of its bucket and never above the maximum), not the interpolated type 7 of
/// ``Summary``: for 1…1000, p50 is 500 here and 500.5 there.
public struct LatencyHistogram: Codable, Sendable, Equatable {
    /// The largest value tracked, one hour in nanoseconds; longer latencies are recorded as this.
    public static let highestTrackableNanoseconds: UInt64 = 3_600 * 1_000_000_000

    /// The percentiles ``percentiles`` reports, from the minimum (0) to the maximum (100).
    public static let standardPercentiles: [Double] = [0, 1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9, 100]

    private var histogram: Histogram<UInt64>

    /// An empty histogram.
    public init() {
        histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: Self.highestTrackableNanoseconds,
            numberOfSignificantValueDigits: .three)
    }

    /// A histogram of `samples` (nanoseconds), each rounded to the nearest nanosecond.
    ///
    /// Negative values, which only a clock going backwards produces, count as 0.
    public static func from(samples: [Double]) -> LatencyHistogram {
        var result = LatencyHistogram()
        for sample in samples {
            precondition(!sample.isNaN, "a latency sample is NaN")
            let clamped = Swift.min(Swift.max(sample.rounded(), 0), Double(highestTrackableNanoseconds))
            result.record(UInt64(clamped))
        }
        return result
    }

    /// Records one latency of `ns` nanoseconds.
    ///
    /// HdrHistogram drops values beyond its range and reports it through a return value that is easy
    /// to ignore; clamping instead keeps ``count`` equal to the number of operations measured.
    public mutating func record(_ ns: UInt64) {
        let recorded = histogram.record(Swift.min(ns, Self.highestTrackableNanoseconds))
        assert(recorded, "a clamped value is always in range")
    }

    /// Adds every value recorded in `other`.
    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    /// The number of values recorded.
    public var count: Int { Int(histogram.totalCount) }

    /// The nearest-rank `p`th percentile (0…100): the smallest value with at least `p` % of the
    /// recorded values at or below it, to the histogram's resolution; 0 when nothing is recorded.
    /// `percentile(0)` is the minimum and `percentile(100)` the maximum.
    public func percentile(_ p: Double) -> Double {
        precondition((0...100).contains(p), "a percentile lies in 0...100")
        return Double(histogram.valueAtPercentile(p))
    }

    /// The value at each of ``standardPercentiles``.
    public var percentiles: [PercentilePoint] {
        Self.standardPercentiles.map { PercentilePoint(percentile: $0, value: percentile($0)) }
    }

    /// The empirical CDF sampled at `points` evenly spaced fractions from 0 to 1, ready to plot
    /// as (value, fraction) with the value on the x axis.
    ///
    /// Sampling the quantile function, rather than the recorded buckets, gives a fixed number of
    /// points whatever the spread, and values never decrease along the result. Empty when nothing
    /// is recorded.
    public func cdf(points: Int) -> [(value: Double, fraction: Double)] {
        precondition(points >= 2, "a CDF needs at least its two end points")
        guard count > 0 else { return [] }
        return (0..<points).map { index in
            let fraction = Double(index) / Double(points - 1)
            return (value: percentile(fraction * 100), fraction: fraction)
        }
    }
}
