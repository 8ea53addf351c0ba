import Foundation

/// Whether a configuration's samples can resolve a suite's threshold: judged the way `compare`
/// will judge the next run of the same configuration, before a night is spent on it.
///
/// The measurement is compared with itself by ``Comparison/compare(baseline:current:options:level:)``:
/// the bootstrap resamples the two sides independently, so the interval is the one two runs of
/// this distribution at this sample count would give, widened by the between-repeat spread when
/// the run measured one (`--repeat`). If that interval does not fit inside ±threshold, an
/// unchanged night would be called inconclusive, and a change of the threshold's size could not
/// be told from noise; the check then says how many samples would fit it, or that the repeat
/// spread alone is too wide for any count. The interval is the 95% one of a single metric; a
/// compare of many metrics widens it further to control the false coverage rate, so a count the
/// check suggests is the least that can do.
public enum ResolutionCheck {
    /// What the check found for one measurement that cannot resolve its threshold.
    public struct Finding: Sendable, Equatable {
        public var threshold: Double
        public var samples: Int
        /// The decision interval of the ratio of two such runs (1 is no change): a change inside
        /// it cannot be told from noise.
        public var interval: ClosedRange<Double>
        /// The interval's larger distance from 1, as a fraction (0.12 is 12%).
        public var resolution: Double { max(interval.upperBound - 1, 1 - interval.lowerBound) }
        /// The samples a side that would resolve the threshold; nil when the repeat spread alone
        /// is wider than it.
        public var suggestedSamples: Int?

        /// The warning `run` records with the measurement and prints.
        public var message: String {
            let head = String(format: "%d samples cannot tell changes within %+.3g%%…%+.3g%% from noise here, wider than the suite's threshold of %g%%",
                              samples, (interval.lowerBound - 1) * 100, (interval.upperBound - 1) * 100, threshold * 100)
            guard let suggestedSamples else {
                return head + ": the between-repeat spread alone exceeds it, so no sample count can; raise the threshold or quiet the machine"
            }
            return head + "; about \(suggestedSamples) samples would resolve it"
        }
    }

    /// nil when `measurement` resolves `threshold` (or has nothing to judge: skipped, one value,
    /// a zero sample); otherwise what it can resolve and the count that would do.
    public static func check(_ measurement: Measurement, threshold: Double, seed: UInt64 = 1) -> Finding? {
        guard measurement.samples.count > 1 else { return nil }
        var options = Comparison.Options(threshold: threshold)
        options.seed = seed
        let entry = Comparison.compare(baseline: measurement, current: measurement, options: options)
        guard entry.verdict == .inconclusive, let decision = entry.decisionInterval else { return nil }
        return Finding(threshold: threshold, samples: measurement.samples.count, interval: decision.lower...decision.upper,
                       suggestedSamples: entry.samplesToResolve)
    }
}
