/// Outlier detection by the modified z-score of Iglewicz and Hoaglin ("How to Detect and Handle
/// Outliers", ASQC Basic References in Quality Control 16, 1993).
///
/// Median and MAD replace mean and standard deviation, so the outliers being hunted cannot mask
/// themselves by inflating the scale, as one slow I/O does to a standard deviation.
public enum Outliers {
    /// The modified z-score of every sample, in the same order: 0.6745·(x − median)/MAD.
    ///
    /// When more than half the samples are equal the MAD is 0; the scale then falls back to the
    /// mean absolute deviation from the median, as 0.7979·(x − median)/meanAD (0.7979 = √(2/π)
    /// makes meanAD consistent for a normal σ, as 0.6745 does the MAD). When that is 0 too, all
    /// samples are equal and every score is 0.
    public static func modifiedZScores(_ samples: [Double]) -> [Double] {
        guard !samples.isEmpty else { return [] }
        precondition(samples.allSatisfy(\.isFinite), "samples must be finite")
        let median = OrderStatistics.median(samples)
        let deviations = samples.map { abs($0 - median) }
        let medianAbsoluteDeviation = OrderStatistics.median(deviations)
        if medianAbsoluteDeviation > 0 {
            return samples.map { 0.6745 * ($0 - median) / medianAbsoluteDeviation }
        }
        let meanAbsoluteDeviation = deviations.reduce(0, +) / Double(samples.count)
        if meanAbsoluteDeviation > 0 {
            return samples.map { 0.7979 * ($0 - median) / meanAbsoluteDeviation }
        }
        return samples.map { _ in 0 }
    }

    /// The indices, ascending, of samples whose modified z-score exceeds `threshold` in absolute
    /// value; 3.5 is the cut-off Iglewicz and Hoaglin recommend.
    public static func flag(_ samples: [Double], threshold: Double = 3.5) -> [Int] {
        modifiedZScores(samples).enumerated().compactMap { abs($0.element) > threshold ? $0.offset : nil }
    }
}
