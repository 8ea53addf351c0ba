/// One point of a latency distribution: the value at a percentile.
public struct PercentilePoint: Codable, Sendable, Equatable {
    /// The percentile, 0…100 (99.9 means p99.9).
    public var percentile: Double
    /// The value at that percentile, in the unit of the recorded samples (nanoseconds for latencies).
    public var value: Double

    /// The point (`percentile`, `value`).
    public init(percentile: Double, value: Double) {
        self.percentile = percentile
        self.value = value
    }
}
