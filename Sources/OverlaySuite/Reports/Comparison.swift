import Foundation
import OverlayCore
import OverlayStatistics

/// A baseline result file against a current one: is anything slower, beyond noise?
///
/// Measurements pair up by identity (probe, backend, metric, parameters). For each pair the
/// verdict rests on two pieces of evidence, both required:
/// - the Mann–Whitney p-value is below `alpha`, and
/// - the ratio of medians current/baseline lies entirely beyond the threshold, judged on the
///   bootstrap interval widened by a run-to-run allowance (below).
///
/// Resampling within a run only sees within-run noise, but on a shared VM a whole run shifts:
/// six back-to-back copy-up runs of one configuration on the development host gave first-write
/// p50s of 337–470 µs at 4 KiB, with each run's own samples tight around its median. A bootstrap
/// interval from ten samples a side calls that a change nearly every time. So each side is taken
/// to carry a run effect as large as its own spread (1.4826·MAD of the log samples, σ), and the
/// log-ratio interval is widened by z·√(σ²baseline + σ²current). A real change — volatile against
/// default copy-up is 2–30× — still clears it by far; a drift of a run's worth of noise does not.
/// A side run with `--repeat N` measured its run effect instead of assuming it: there σ is
/// ln(1 + CV) of its between-repeat p50s (``RepeatSpread``).
///
/// A comparison judges every paired metric at once, and fifteen metrics at 95 % each would
/// cross by chance in more than half of all comparisons. So `alpha` and the interval level are
/// Bonferroni-corrected for the number of metrics: with 9 metrics, p < 0.0056 and 99.4 % intervals.
public struct Comparison: Sendable, Encodable {
    public struct Options: Sendable {
        /// The smallest relative change that matters: 0.05 calls a latency ratio whose interval
        /// lies above 1.05 a regression (below 0.95 an improvement).
        public var threshold: Double = 0.05
        public var alpha: Double = 0.05
        public var level: Double = 0.95
        public var resamples: Int = 2000
        public var seed: UInt64 = 1
        /// Compare even when the environments differ.
        public var force = false

        public init(threshold: Double = 0.05, force: Bool = false) {
            self.threshold = threshold
            self.force = force
        }

        /// The options for judging each of `metrics` metrics so that the whole comparison keeps
        /// `alpha` and `level`; more resamples keep the now smaller tails of the bootstrap populated.
        public func bonferroni(metrics: Int) -> Options {
            guard metrics > 1 else { return self }
            var corrected = self
            corrected.alpha = alpha / Double(metrics)
            corrected.level = 1 - (1 - level) / Double(metrics)
            corrected.resamples = min(50_000, max(resamples, Int((20 / (1 - corrected.level)).rounded(.up))))
            return corrected
        }
    }

    public enum Verdict: String, Sendable, Encodable {
        case regression
        case improvement
        case unchanged
        /// No ratio could be formed (a median of 0 or a non-positive sample).
        case notCompared = "not compared"
    }

    /// One thing that makes the two runs measure different systems.
    public struct Difference: Sendable, Encodable, Equatable, CustomStringConvertible {
        public var what: String
        public var baseline: String
        public var current: String

        public init(what: String, baseline: String, current: String) {
            self.what = what
            self.baseline = baseline
            self.current = current
        }

        public var description: String { "\(what): baseline \(baseline), current \(current)" }
    }

    /// One paired measurement and its verdict.
    public struct Entry: Sendable, Encodable {
        public var identity: String
        public var probe: String
        public var backend: String
        public var metric: String
        public var unit: String
        public var parameters: String
        public var higherIsBetter: Bool
        public var baselineN: Int
        public var currentN: Int
        public var baselineMedian: Double
        public var currentMedian: Double
        /// median(current) / median(baseline).
        public var ratio: Double?
        /// The bootstrap interval of ``ratio``.
        public var ci: ConfidenceInterval?
        /// ``ci`` widened by the run-to-run allowance: what the verdict is judged on.
        public var decisionInterval: ConfidenceInterval?
        public var pValue: Double?
        public var verdict: Verdict
        public var note: String?
    }

    public var baselinePath: String
    public var currentPath: String
    public var threshold: Double
    public var alpha: Double
    public var level: Double
    /// `alpha` and `level` after the Bonferroni correction for the number of entries.
    public var perMetricAlpha: Double
    public var perMetricLevel: Double
    public var differences: [Difference]
    public var forced: Bool
    public var entries: [Entry]
    /// Identities present on one side only.
    public var onlyInBaseline: [String]
    public var onlyInCurrent: [String]

    /// Differences exist and `--force` was not given: nothing was compared.
    public var refused: Bool { !differences.isEmpty && !forced }
    public var regressions: [Entry] { entries.filter { $0.verdict == .regression } }
    public var improvements: [Entry] { entries.filter { $0.verdict == .improvement } }

    /// 0 nothing regressed, 1 at least one regression, 2 refused as incomparable.
    public var exitStatus: Int32 { refused ? 2 : (regressions.isEmpty ? 0 : 1) }

    public static func compare(
        baseline: ResultFile, current: ResultFile,
        baselinePath: String = "baseline", currentPath: String = "current", options: Options = Options()
    ) -> Comparison {
        precondition(options.threshold >= 0, "a threshold is a non-negative fraction")
        let differences = environmentDifferences(baseline: baseline, current: current)
        var comparison = Comparison(
            baselinePath: baselinePath, currentPath: currentPath, threshold: options.threshold,
            alpha: options.alpha, level: options.level, perMetricAlpha: options.alpha, perMetricLevel: options.level,
            differences: differences, forced: options.force, entries: [], onlyInBaseline: [], onlyInCurrent: [])
        if comparison.refused { return comparison }

        let ignored = pairingExemptions(baseline.measurements, current.measurements)
        func key(_ m: Measurement) -> String {
            var reduced = m
            for name in ignored { reduced.parameters[name] = nil }
            return reduced.identity
        }
        let usableBaseline = baseline.measurements.filter(\.hasSamples)
        let usableCurrent = current.measurements.filter(\.hasSamples)
        var baselineByKey: [String: Measurement] = [:]
        for m in usableBaseline { baselineByKey[key(m)] = m }
        let currentKeys = Set(usableCurrent.map(key))
        var pairs: [(Measurement, Measurement)] = []
        for m in usableCurrent {
            guard let base = baselineByKey[key(m)] else {
                comparison.onlyInCurrent.append(m.identity)
                continue
            }
            pairs.append((base, m))
        }
        let corrected = options.bonferroni(metrics: pairs.count)
        comparison.perMetricAlpha = corrected.alpha
        comparison.perMetricLevel = corrected.level
        comparison.entries = pairs.map { compare(baseline: $0.0, current: $0.1, options: corrected) }
        comparison.onlyInBaseline = usableBaseline.filter { !currentKeys.contains(key($0)) }.map(\.identity)
        return comparison
    }

    /// The verdict for one pair of measurements with the same identity.
    public static func compare(baseline: Measurement, current: Measurement, options: Options = Options()) -> Entry {
        let baselineMedian = baseline.percentile(50) ?? .nan
        let currentMedian = current.percentile(50) ?? .nan
        var entry = Entry(
            identity: current.identity, probe: current.probe, backend: current.backend, metric: current.metric,
            unit: current.unit, parameters: current.parameterLabel, higherIsBetter: current.higherIsBetter,
            baselineN: baseline.samples.count, currentN: current.samples.count,
            baselineMedian: baselineMedian, currentMedian: currentMedian,
            ratio: nil, ci: nil, decisionInterval: nil, pValue: nil, verdict: .notCompared, note: nil)
        // Ratios and log spreads need positive values; a latency or rate of 0 means a broken sample.
        guard baseline.samples.allSatisfy({ $0 > 0 && $0.isFinite }), current.samples.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            entry.note = "a sample is zero or negative, so no ratio is formed"
            return entry
        }
        let (ratio, ci) = Bootstrap.ratioOfMediansCI(
            baseline: baseline.samples, current: current.samples,
            level: options.level, resamples: options.resamples, seed: options.seed)
        let pValue = MannWhitney.test(current.samples, baseline.samples).pValue
        let (baselineEffect, currentEffect) = (runEffect(baseline), runEffect(current))
        let allowance = Normal.quantile((1 + options.level) / 2)
            * (baselineEffect * baselineEffect + currentEffect * currentEffect).squareRoot()
        let decision = ConfidenceInterval(
            lower: ci.lower * exp(-allowance), upper: ci.upper * exp(allowance), level: options.level)
        entry.ratio = ratio
        entry.ci = ci
        entry.decisionInterval = decision
        entry.pValue = pValue

        let significant = pValue < options.alpha
        let above = decision.lower > 1 + options.threshold
        let below = decision.upper < 1 - options.threshold
        if significant && above {
            entry.verdict = current.higherIsBetter ? .improvement : .regression
        } else if significant && below {
            entry.verdict = current.higherIsBetter ? .regression : .improvement
        } else {
            entry.verdict = .unchanged
            if significant && (ci.lower > 1 + options.threshold || ci.upper < 1 - options.threshold) {
                entry.note = "shift within the run-to-run allowance"
            }
        }
        return entry
    }

    /// The run-to-run σ of ln(p50) one side is taken to carry: measured between repeats when the
    /// side has them, else its within-run ``logSpread(_:)``.
    static func runEffect(_ measurement: Measurement) -> Double {
        if let cv = measurement.repeatSpread?.cv { return Foundation.log(1 + cv) }
        return logSpread(measurement.samples)
    }

    /// A robust spread of ln(samples): 1.4826·MAD, which estimates σ for normal data.
    static func logSpread(_ samples: [Double]) -> Double {
        guard samples.count > 1 else { return 0 }
        let logs = samples.map { Foundation.log($0) }.sorted()
        let median = Summary.percentile(sorted: logs, 50)
        let deviations = logs.map { abs($0 - median) }.sorted()
        return 1.4826 * Summary.percentile(sorted: deviations, 50)
    }

    // MARK: - Environments

    /// Layer paths differ on every run by design; they say nothing about what was measured.
    static let layerPathOptions: Set<String> = ["lowerdir", "lowerdir+", "upperdir", "workdir", "datadir+"]

    /// `rw,lowerdir=/a,upperdir=/b,workdir=/c,uuid=on` → `rw,uuid=on`.
    public static func withoutLayerPaths(_ options: String) -> String {
        options.split(separator: ",").filter { option in
            let key = option.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            return !layerPathOptions.contains(key)
        }.joined(separator: ",")
    }

    /// Parameters that describe the environment, not the workload: when each file holds one
    /// value and the values differ, the environment check reports it and pairing ignores it.
    static let environmentParameters = ["mountOptions", "fs"]

    static func pairingExemptions(_ baseline: [Measurement], _ current: [Measurement]) -> [String] {
        environmentParameters.filter { name in
            let b = Set(baseline.map { $0.text(name) })
            let c = Set(current.map { $0.text(name) })
            return b.count == 1 && c.count == 1 && b != c
        }
    }

    /// Everything that makes the two runs incomparable: kernel, effective mount options (minus
    /// layer paths), requested mount options, backing filesystem type and options, and the sizes.
    public static func environmentDifferences(baseline: ResultFile, current: ResultFile) -> [Difference] {
        var differences: [Difference] = []
        let b = baseline.environment
        let c = current.environment
        if b.kernel != c.kernel { differences.append(Difference(what: "kernel", baseline: b.kernel, current: c.kernel)) }

        func effective(_ environment: RunEnvironment) -> [String: Set<String>] {
            var result: [String: Set<String>] = [:]
            for mount in environment.mounts {
                result["\(mount.backend) \(mount.probe)", default: []].insert(withoutLayerPaths(mount.effectiveOptions))
            }
            return result
        }
        let baseMounts = effective(b)
        let currentMounts = effective(c)
        for name in Set(baseMounts.keys).union(currentMounts.keys).sorted() where baseMounts[name] != currentMounts[name] {
            differences.append(Difference(
                what: "effective mount options (\(name), layer paths removed)",
                baseline: quoted(baseMounts[name]), current: quoted(currentMounts[name])))
        }

        let requestedBaseline = Set(baseline.measurements.map { $0.text("mountOptions") })
        let requestedCurrent = Set(current.measurements.map { $0.text("mountOptions") })
        if requestedBaseline != requestedCurrent {
            differences.append(Difference(
                what: "requested mount options (parameters.mountOptions)",
                baseline: quoted(requestedBaseline), current: quoted(requestedCurrent)))
        }

        func backing(_ environment: RunEnvironment) -> [String: String] {
            Dictionary(environment.backingFilesystems.map {
                ($0.name, "\($0.type) (\($0.mountOptions); \($0.superOptions)\($0.mkfsOptions.map { "; mkfs \($0)" } ?? ""))")
            }, uniquingKeysWith: { first, _ in first })
        }
        let baseBacking = backing(b)
        let currentBacking = backing(c)
        for name in Set(baseBacking.keys).union(currentBacking.keys).sorted() where baseBacking[name] != currentBacking[name] {
            differences.append(Difference(
                what: "backing filesystem \(name)",
                baseline: baseBacking[name] ?? "absent", current: currentBacking[name] ?? "absent"))
        }

        func sizes(_ file: ResultFile) -> [String: Set<Int64>] {
            var result: [String: Set<Int64>] = [:]
            for m in file.measurements { if let size = m.sizeBytes { result[m.probe, default: []].insert(size) } }
            return result
        }
        let baseSizes = sizes(baseline)
        let currentSizes = sizes(current)
        for probe in Set(baseSizes.keys).union(currentSizes.keys).sorted() where baseSizes[probe] != currentSizes[probe] {
            func list(_ set: Set<Int64>?) -> String {
                guard let set else { return "none" }
                return set.sorted().map(ByteCount.format).joined(separator: ",")
            }
            differences.append(Difference(
                what: "sizes of the \(probe) probe", baseline: list(baseSizes[probe]), current: list(currentSizes[probe])))
        }
        return differences
    }

    private static func quoted(_ values: Set<String>?) -> String {
        guard let values, !values.isEmpty else { return "none" }
        return values.sorted().map { $0.isEmpty ? "\"\" (defaults)" : "\"\($0)\"" }.joined(separator: " | ")
    }
}
