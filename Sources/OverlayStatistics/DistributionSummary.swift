/// What a result file records about a sample distribution beside its ``Summary``: the standard
/// percentiles, how precisely the median is known, and which samples look like outliers.
public struct DistributionSummary: Codable, Sendable, Equatable {
    /// The value at each of ``LatencyHistogram/standardPercentiles``, from an HDR histogram of the
    /// samples (so in nanoseconds, to three significant digits).
    public var percentiles: [PercentilePoint]
    /// The 95 % percentile-bootstrap interval of the median (2000 resamples).
    public var medianCI: ConfidenceInterval
    /// Indices into the samples whose modified z-score exceeds 3.5 (see ``Outliers``).
    public var outlierIndices: [Int]

    /// Summarizes `samples` (nanoseconds); `seed` drives the bootstrap, so equal seeds give equal results.
    public init(samples: [Double], seed: UInt64 = 1) {
        precondition(!samples.isEmpty, "a distribution summary needs at least one sample")
        percentiles = LatencyHistogram.from(samples: samples).percentiles
        medianCI = Bootstrap.medianCI(samples, seed: seed)
        outlierIndices = Outliers.flag(samples)
    }
}
