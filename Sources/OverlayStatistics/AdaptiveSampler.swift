/// Decides when a measurement loop has taken enough samples: at least a minimum, at most a maximum,
/// within a time budget, and otherwise until the median is known to a target precision.
///
/// ```swift
/// var sampler = AdaptiveSampler(minimumSamples: 20, maximumSamples: 10_000,
///                               targetRelativeHalfWidth: 0.01, timeBudgetNanoseconds: 30_000_000_000)
/// var samples: [Double] = []
/// while sampler.shouldContinue(samples: samples, elapsedNanoseconds: clock.elapsed) {
///     samples.append(measureOnce())
/// }
/// ```
public struct AdaptiveSampler: Sendable {
    /// Why sampling stopped, for the result file.
    public enum StopReason: String, Codable, Sendable {
        /// `maximumSamples` were taken.
        case maximumSamples = "maximum-samples"
        /// The time budget was spent.
        case timeBudget = "time-budget"
        /// The median's confidence interval became narrow enough.
        case targetPrecision = "target-precision"
    }

    /// Resamples per precision check. The check only decides whether to go on, so a rough interval
    /// is enough, and it keeps a check far cheaper than most operations being timed.
    static let checkResamples = 200

    /// Below this many samples a bootstrap interval can be spuriously narrow (a few equal timer
    /// readings give a zero-width interval), so precision is not judged before it.
    static let smallestPrecisionCheck = 10

    /// Samples taken however precise the median already looks.
    public let minimumSamples: Int
    /// Samples after which sampling stops whatever the precision.
    public let maximumSamples: Int
    /// The wanted 95 % bootstrap half-width of the median, as a fraction of the median (0.01 is
    /// ±1 %); nil to sample until the maximum or the time budget.
    public let targetRelativeHalfWidth: Double?
    /// Elapsed time after which sampling stops once the minimum is reached; nil for no limit.
    public let timeBudgetNanoseconds: UInt64?

    /// Why the last call to ``shouldContinue(samples:elapsedNanoseconds:)`` returned false; nil while
    /// sampling goes on.
    public private(set) var stopReason: StopReason?
    /// The relative half-width found by the latest precision check; nil before the first.
    public private(set) var lastRelativeHalfWidth: Double?

    private var nextPrecisionCheck: Int

    /// A sampler with the given limits; `minimumSamples` ≥ 1 and `maximumSamples` ≥ `minimumSamples`.
    public init(
        minimumSamples: Int, maximumSamples: Int, targetRelativeHalfWidth: Double?, timeBudgetNanoseconds: UInt64?
    ) {
        precondition(minimumSamples >= 1, "at least one sample is always taken")
        precondition(maximumSamples >= minimumSamples, "the maximum must not be below the minimum")
        precondition(targetRelativeHalfWidth.map { $0 > 0 } ?? true, "a target precision must be positive")
        self.minimumSamples = minimumSamples
        self.maximumSamples = maximumSamples
        self.targetRelativeHalfWidth = targetRelativeHalfWidth
        self.timeBudgetNanoseconds = timeBudgetNanoseconds
        nextPrecisionCheck = max(minimumSamples, Self.smallestPrecisionCheck)
    }

    /// Whether to take another sample, given those taken so far and the time spent taking them.
    ///
    /// In order: below the minimum, always continue (the minimum outranks the time budget); at the
    /// maximum, or with the budget spent, stop; with a target, stop once the median's relative
    /// half-width is at most the target. Precision is checked only as the count grows by 10 %
    /// (at least 5 samples), so its cost stays proportional to the sampling itself.
    public mutating func shouldContinue(samples: [Double], elapsedNanoseconds: UInt64) -> Bool {
        stopReason = nil
        let count = samples.count
        if count < minimumSamples { return true }
        if count >= maximumSamples {
            stopReason = .maximumSamples
            return false
        }
        if let budget = timeBudgetNanoseconds, elapsedNanoseconds >= budget {
            stopReason = .timeBudget
            return false
        }
        guard let target = targetRelativeHalfWidth, count >= nextPrecisionCheck else { return true }
        nextPrecisionCheck = count + max(5, count / 10)
        let interval = Bootstrap.medianCI(samples, resamples: Self.checkResamples)
        let relative = interval.halfWidthRelative(to: OrderStatistics.median(samples))
        lastRelativeHalfWidth = relative
        if relative <= target {
            stopReason = .targetPrecision
            return false
        }
        return true
    }
}
