/// Percentile-bootstrap confidence intervals (Efron and Tibshirani, "An Introduction to the
/// Bootstrap", 1993, ch. 13), for statistics whose sampling distribution has no closed form.
///
/// Every function takes a seed and draws from a ``SeededGenerator``, so an interval in a result
/// file can be recomputed bit for bit from the samples beside it.
public enum Bootstrap {
    /// A `level` confidence interval for the median of `samples`, from `resamples` resamples
    /// drawn with replacement.
    public static func medianCI(
        _ samples: [Double], level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 1
    ) -> ConfidenceInterval {
        precondition(!samples.isEmpty, "a bootstrap needs at least one sample")
        precondition(samples.allSatisfy(\.isFinite), "bootstrap samples must be finite")
        precondition(resamples > 0)
        var generator = SeededGenerator(seed: seed)
        var scratch = samples
        var medians = [Double](repeating: 0, count: resamples)
        for index in 0..<resamples {
            medians[index] = resampledMedian(of: samples, into: &scratch, using: &generator)
        }
        return percentileInterval(of: &medians, level: level)
    }

    /// The ratio median(`current`) / median(`baseline`) and a `level` confidence interval for it.
    ///
    /// The two sample sets come from separate runs, so each is resampled on its own. A ratio of
    /// 1.10 reads "current is 10 % slower" when the samples are latencies.
    public static func ratioOfMediansCI(
        baseline: [Double], current: [Double], level: Double = 0.95, resamples: Int = 2000, seed: UInt64 = 1
    ) -> (ratio: Double, ci: ConfidenceInterval) {
        precondition(!baseline.isEmpty && !current.isEmpty, "a ratio needs samples on both sides")
        precondition(baseline.allSatisfy(\.isFinite) && current.allSatisfy(\.isFinite), "bootstrap samples must be finite")
        precondition(resamples > 0)
        let ratio = OrderStatistics.median(current) / OrderStatistics.median(baseline)
        var generator = SeededGenerator(seed: seed)
        var baselineScratch = baseline
        var currentScratch = current
        var ratios = [Double](repeating: 0, count: resamples)
        for index in 0..<resamples {
            let baselineMedian = resampledMedian(of: baseline, into: &baselineScratch, using: &generator)
            let currentMedian = resampledMedian(of: current, into: &currentScratch, using: &generator)
            ratios[index] = currentMedian / baselineMedian
        }
        precondition(!ratios.contains(where: \.isNaN), "a ratio of medians is undefined when both medians are 0")
        return (ratio, percentileInterval(of: &ratios, level: level))
    }

    /// The median of one resample of `samples` drawn with replacement, built in `scratch`
    /// (which must have the same count) so that the loop allocates nothing.
    static func resampledMedian(
        of samples: [Double], into scratch: inout [Double], using generator: inout SeededGenerator
    ) -> Double {
        for index in scratch.indices {
            scratch[index] = samples[generator.index(below: samples.count)]
        }
        return OrderStatistics.median(inPlace: &scratch)
    }

    /// The central `level` interval of the bootstrap replicates, by type-7 percentiles as
    /// `numpy.percentile` takes them.
    static func percentileInterval(of replicates: inout [Double], level: Double) -> ConfidenceInterval {
        precondition(level > 0 && level < 1, "a confidence level is a fraction strictly between 0 and 1")
        replicates.sort()
        let tail = (1 - level) / 2 * 100
        return ConfidenceInterval(
            lower: Summary.percentile(sorted: replicates, tail),
            upper: Summary.percentile(sorted: replicates, 100 - tail),
            level: level)
    }
}
