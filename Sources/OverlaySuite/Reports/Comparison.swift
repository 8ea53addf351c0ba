import Foundation
import OverlayCore
import OverlayStatistics

/// A baseline result file against a current one: is anything slower, beyond noise?
///
/// Measurements pair up by identity (probe, backend, metric, parameters). For each pair the
/// verdict rests on the ratio of medians, oriented so that above 1 is worse (current ÷ baseline
/// for costs, baseline ÷ current where higher is better), with its bootstrap interval widened by
/// the run-to-run allowance:
/// - **regression** when the whole interval lies above 1 + threshold,
/// - **improvement** when it lies below 1 − threshold,
/// - **unchanged** when it lies inside ±threshold,
/// - **inconclusive** otherwise, with the sample count per side that would settle it (or the
///   statement that more samples cannot, when the run-to-run allowance alone exceeds the
///   threshold).
///
/// Resampling within a run sees only within-run noise; on a shared VM a whole run shifts. The
/// allowance for that comes from measured between-repeat spread (`run --repeat N` records the
/// coefficient of variation of the p50s): z·√(σ²baseline + σ²current) with σ = ln(1 + CV). Where
/// neither side measured it, the allowance is 0 and the comparison says so: a drift between runs
/// can then read as a change.
///
/// Many metrics are judged at once. The metrics whose 95% interval clears the threshold are
/// selected, and then each selected one must clear it again with its interval at the level that
/// controls the false coverage rate over the selection (Benjamini and Yekutieli, "False
/// Discovery Rate–Adjusted Multiple Confidence Intervals", JASA 2005): 1 − R·α/m for R selected
/// out of m. Unlike Bonferroni, this keeps power at the suites' sample counts.
public struct Comparison: Sendable, Encodable {
    public struct Options: Sendable {
        /// The threshold for every metric without one of its own in ``thresholds``.
        public var threshold: Double?
        /// Per-metric and per-unit thresholds (`--thresholds FILE`).
        public var thresholds: ThresholdFile
        /// The level of every interval before the false-coverage-rate adjustment.
        public var level: Double = 0.95
        public var resamples: Int = 2000
        public var seed: UInt64 = 1
        /// Compare even when the environments differ.
        public var force = false
        /// Judge a current run that lacks some of the baseline's measurements.
        public var allowMissing = false
        /// Count inconclusive metrics as regressions for the exit status.
        public var strict = false

        public init(threshold: Double? = nil, thresholds: ThresholdFile = ThresholdFile(), force: Bool = false,
                    allowMissing: Bool = false, strict: Bool = false) {
            self.threshold = threshold
            self.thresholds = thresholds
            self.force = force
            self.allowMissing = allowMissing
            self.strict = strict
        }

        /// The threshold that applies to `measurement`: its own from the file, then `--threshold`,
        /// then the file's unit default, then the built-in default for its unit.
        public func threshold(for measurement: Measurement) -> Double {
            if let specific = thresholds.specific(for: measurement) { return specific }
            if let threshold { return threshold }
            return thresholds.unitDefault(for: measurement.unit) ?? ThresholdFile.builtInDefault(unit: measurement.unit)
        }
    }

    public enum Verdict: String, Sendable, Encodable {
        case regression
        case improvement
        case unchanged
        case inconclusive
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
        public var threshold: Double
        /// median(current) / median(baseline).
        public var ratio: Double?
        /// How much worse: ``ratio``, or its inverse where higher is better (above 1 is worse).
        public var slowdown: Double?
        /// The bootstrap interval of ``slowdown``, at the level it was judged at.
        public var ci: ConfidenceInterval?
        /// ``ci`` widened by the run-to-run allowance: what the verdict is judged on.
        public var decisionInterval: ConfidenceInterval?
        /// The factor the interval was widened by on each side (exp of the allowance); 1 without repeats.
        public var allowance: Double
        public var verdict: Verdict
        /// For an inconclusive metric: the samples per side that would settle it, when more
        /// samples can (nil when the run-to-run allowance alone exceeds the threshold).
        public var samplesToResolve: Int?
        public var note: String?
    }

    public var baselinePath: String
    public var currentPath: String
    public var level: Double
    /// The adjusted level the selected metrics were judged at.
    public var adjustedLevel: Double
    public var differences: [Difference]
    /// Differences that do not stop the comparison (kernel build string, CPU model, host name).
    public var warnings: [String]
    public var forced: Bool
    public var entries: [Entry]
    /// Identities present on one side only.
    public var onlyInBaseline: [String]
    public var onlyInCurrent: [String]
    /// Why the current run cannot be judged at all (empty, incomplete, missing measurements).
    public var cannotJudge: String?
    public var strict: Bool
    /// Whether either side measured its run-to-run spread (`--repeat`).
    public var runToRunMeasured: Bool

    /// Differences exist and `--force` was not given: nothing was compared.
    public var refused: Bool { !differences.isEmpty && !forced }
    public var regressions: [Entry] { entries.filter { $0.verdict == .regression } }
    public var improvements: [Entry] { entries.filter { $0.verdict == .improvement } }
    public var inconclusive: [Entry] { entries.filter { $0.verdict == .inconclusive } }
    public var unchanged: [Entry] { entries.filter { $0.verdict == .unchanged } }

    /// 0 nothing regressed, 1 at least one regression (or, with `--strict`, an inconclusive
    /// metric), 2 refused as incomparable or a current run that cannot be judged.
    public var exitStatus: Int32 {
        if refused || cannotJudge != nil { return 2 }
        if !regressions.isEmpty || (strict && !inconclusive.isEmpty) { return 1 }
        return 0
    }

    public static func compare(
        baseline: ResultFile, current: ResultFile,
        baselinePath: String = "baseline", currentPath: String = "current", options: Options = Options()
    ) -> Comparison {
        let differences = environmentDifferences(baseline: baseline, current: current)
        var comparison = Comparison(
            baselinePath: baselinePath, currentPath: currentPath, level: options.level, adjustedLevel: options.level,
            differences: differences, warnings: environmentWarnings(baseline: baseline, current: current),
            forced: options.force, entries: [], onlyInBaseline: [], onlyInCurrent: [], cannotJudge: nil,
            strict: options.strict, runToRunMeasured: false)
        if baseline.schema != current.schema {
            comparison.cannotJudge = "the files have different schemas (\(baseline.schema) and \(current.schema))"
            return comparison
        }
        if !current.measurements.contains(where: \.hasSamples) {
            comparison.cannotJudge = "the current run has no measurements"
            return comparison
        }
        if current.incomplete {
            comparison.cannotJudge = "the current run is incomplete (\(current.stopReason ?? "it stopped early")): a partial run is not a pass"
            return comparison
        }
        if comparison.refused { return comparison }

        let ignored = pairingExemptions(baseline.measurements, current.measurements)
        func key(_ m: Measurement) -> String {
            var reduced = m
            for name in ignored { reduced.parameters[name] = nil }
            return Exporters.seriesName(reduced)
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
        comparison.onlyInBaseline = usableBaseline.filter { !currentKeys.contains(key($0)) }.map(\.identity)
        if !comparison.onlyInBaseline.isEmpty && !options.allowMissing {
            comparison.cannotJudge = "the current run lacks \(comparison.onlyInBaseline.count) of the baseline's \(usableBaseline.count) measurements "
                + "(first: \(comparison.onlyInBaseline[0])); --allow-missing judges the rest"
            return comparison
        }
        comparison.runToRunMeasured = pairs.contains { runEffect($0.0) != nil || runEffect($0.1) != nil }

        // Select at the nominal level, then confirm the selected at the FCR-adjusted level.
        var entries = pairs.map { compare(baseline: $0.0, current: $0.1, options: options, level: options.level) }
        let selected = entries.indices.filter { entries[$0].verdict == .regression || entries[$0].verdict == .improvement }
        let comparable = entries.filter { $0.verdict != .notCompared }.count
        if !selected.isEmpty && comparable > 0 {
            let adjusted = 1 - Double(selected.count) * (1 - options.level) / Double(comparable)
            comparison.adjustedLevel = adjusted
            for index in selected {
                let confirmed = compare(baseline: pairs[index].0, current: pairs[index].1, options: options, level: adjusted)
                if confirmed.verdict == entries[index].verdict {
                    entries[index] = confirmed
                } else {
                    entries[index].verdict = .inconclusive
                    entries[index].note = String(format: "clears the threshold at %g%% but not at the %.3g%% that %d selected of %d metrics require",
                                                 options.level * 100, adjusted * 100, selected.count, comparable)
                }
            }
        }
        noteControlShifts(&entries, pairs)
        comparison.entries = entries
        return comparison
    }

    /// Where a regression or improvement has a control measured in the same runs (a copy-up's
    /// `control` of the same size and cache, a read's plain file) and that control moved the
    /// same way beyond the threshold, the entry's note says so: the machine, not the code under
    /// test, is then the likelier cause, and the ratio to the control (`overhead`) is the figure
    /// to trust. The verdict stays: a machine that got slower is still slower.
    static func noteControlShifts(_ entries: inout [Entry], _ pairs: [(Measurement, Measurement)]) {
        // A copy-up's control is named by size and cache alone (it has no mount options); a
        // read's plain file (the plain backend's) by everything but where it lies and how its
        // view was mounted.
        func copyUpControl(_ m: Measurement) -> String {
            "copyup control \(m.parameters["size"].map { "\($0)" } ?? "") \(m.parameters["cache"].map { "\($0)" } ?? "")"
        }
        func named(_ m: Measurement, backend: String, _ parameters: [String: ParameterValue]) -> String {
            var parameters = parameters
            parameters["mountMethod"] = nil
            return "\(m.probe) \(backend) \(m.metric) " + parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ",")
        }
        func controlKey(of m: Measurement) -> String? {
            if m.probe == "copyup", ["firstWrite", "secondWrite", "open"].contains(m.metric), m.parameters["size"] != nil {
                return copyUpControl(m)
            }
            guard m.parameters["control"] == .string("place=plain") else { return nil }
            var parameters = m.parameters
            parameters["control"] = nil
            parameters["place"] = .string("plain")
            parameters["role"] = .string("control")
            // The plain file is read through the plain backend's view (a flattened copy).
            return named(m, backend: "plain", parameters)
        }
        func ownKey(of m: Measurement) -> String {
            m.probe == "copyup" && m.metric == "control" ? copyUpControl(m) : named(m, backend: m.backend, m.parameters)
        }
        var controls: [String: Entry] = [:]
        for (index, pair) in pairs.enumerated() { controls[ownKey(of: pair.1)] = entries[index] }
        for index in entries.indices where entries[index].verdict == .regression || entries[index].verdict == .improvement {
            guard let key = controlKey(of: pairs[index].1), let control = controls[key], let shift = control.slowdown,
                  let own = entries[index].slowdown else { continue }
            let sameWay = own > 1 ? shift > 1 + control.threshold : shift < 1 - control.threshold
            guard sameWay else { continue }
            let name = control.backend == "-" ? "copy without overlay" : "plain file"
            let relative = own / shift
            let asMuch = relative <= 1 + entries[index].threshold && relative >= 1 - entries[index].threshold
            let text = asMuch
                ? String(format: "its same-run control (%@) moved ×%.2f too, this ×%.2f: the machine likelier changed than overlay", name, shift, own)
                : String(format: "its same-run control (%@) moved ×%.2f; relative to it this moved ×%.2f", name, shift, relative)
            entries[index].note = [entries[index].note, text].compactMap { $0 }.joined(separator: "; ")
        }
    }

    /// The verdict for one pair of measurements with the same identity, judged at `level`.
    public static func compare(baseline: Measurement, current: Measurement, options: Options = Options(), level: Double = 0.95) -> Entry {
        let baselineMedian = baseline.percentile(50) ?? .nan
        let currentMedian = current.percentile(50) ?? .nan
        let threshold = options.threshold(for: current)
        var entry = Entry(
            identity: current.identity, probe: current.probe, backend: current.backend, metric: current.metric,
            unit: current.unit, parameters: current.parameterLabel, higherIsBetter: current.higherIsBetter,
            baselineN: baseline.samples.count, currentN: current.samples.count,
            baselineMedian: baselineMedian, currentMedian: currentMedian, threshold: threshold,
            ratio: nil, slowdown: nil, ci: nil, decisionInterval: nil, allowance: 1, verdict: .notCompared,
            samplesToResolve: nil, note: nil)
        // Ratios and log spreads need positive values; a latency or rate of 0 means a broken sample.
        guard baseline.samples.allSatisfy({ $0 > 0 && $0.isFinite }), current.samples.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            entry.note = "a sample is zero or negative, so no ratio is formed"
            return entry
        }
        let ratio = currentMedian / baselineMedian
        entry.ratio = ratio
        let invert = current.higherIsBetter
        let slowdown = invert ? 1 / ratio : ratio
        entry.slowdown = slowdown

        // One value a side with an interval each (a ratio to a control, `overhead`): the change
        // is judged on the two intervals combined, in log space, as independent normal errors.
        if baseline.samples.count == 1 && current.samples.count == 1,
           let baseInterval = baseline.interval, let currentInterval = current.interval,
           baseInterval.lower > 0, currentInterval.lower > 0 {
            let z = Normal.quantile((1 + baseInterval.level) / 2)
            func standardError(_ interval: ConfidenceInterval) -> Double {
                (Foundation.log(interval.upper) - Foundation.log(interval.lower)) / (2 * z)
            }
            let error = (pow(standardError(baseInterval), 2) + pow(standardError(currentInterval), 2)).squareRoot()
            let half = Normal.quantile((1 + level) / 2) * error
            let judged = ConfidenceInterval(lower: slowdown * exp(-half), upper: slowdown * exp(half), level: level)
            entry.ci = judged
            entry.decisionInterval = judged
            entry.verdict = judged.lower > 1 + threshold ? .regression
                : judged.upper < 1 - threshold ? .improvement
                : judged.lower >= 1 - threshold && judged.upper <= 1 + threshold ? .unchanged : .inconclusive
            entry.note = entry.verdict == .inconclusive ? "judged on both sides' intervals; more samples would narrow them" : nil
            return entry
        }
        // One value a side (a counter, a fitted slope): the values themselves are compared.
        if baseline.samples.count == 1 && current.samples.count == 1 {
            let point = ConfidenceInterval(lower: slowdown, upper: slowdown, level: level)
            entry.ci = point
            entry.decisionInterval = point
            entry.verdict = slowdown > 1 + threshold ? .regression : (slowdown < 1 - threshold ? .improvement : .unchanged)
            entry.note = "one value a side, compared exactly"
            return entry
        }
        let (_, raw) = Bootstrap.ratioOfMediansCI(
            baseline: baseline.samples, current: current.samples, level: level, resamples: options.resamples, seed: options.seed)
        let ci = invert ? ConfidenceInterval(lower: 1 / raw.upper, upper: 1 / raw.lower, level: level) : raw
        let effects = (runEffect(baseline), runEffect(current))
        // A side without its own measured spread is taken to drift as much as the other side.
        let sigmaBaseline = effects.0 ?? effects.1 ?? 0
        let sigmaCurrent = effects.1 ?? effects.0 ?? 0
        let allowance = Normal.quantile((1 + level) / 2) * (sigmaBaseline * sigmaBaseline + sigmaCurrent * sigmaCurrent).squareRoot()
        let decision = ConfidenceInterval(lower: ci.lower * exp(-allowance), upper: ci.upper * exp(allowance), level: level)
        entry.ci = ci
        entry.decisionInterval = decision
        entry.allowance = exp(allowance)

        if decision.lower > 1 + threshold {
            entry.verdict = .regression
        } else if decision.upper < 1 - threshold {
            entry.verdict = .improvement
        } else if decision.lower >= 1 - threshold && decision.upper <= 1 + threshold {
            entry.verdict = .unchanged
        } else {
            entry.verdict = .inconclusive
            entry.samplesToResolve = samplesToResolve(slowdown: slowdown, ci: ci, allowance: allowance, threshold: threshold,
                                                      n: min(baseline.samples.count, current.samples.count))
            entry.note = entry.samplesToResolve.map { "about \($0) samples a side would settle it" }
                ?? "the run-to-run allowance alone (×\(String(format: "%.2f", exp(allowance)))) exceeds the threshold: more samples cannot settle it"
        }
        return entry
    }

    /// The samples per side that would shrink the interval enough for a verdict, assuming its
    /// half-width (in log space) shrinks as 1/√n and the allowance stays; nil when the allowance
    /// alone is wider than the room the threshold leaves.
    static func samplesToResolve(slowdown: Double, ci: ConfidenceInterval, allowance: Double, threshold: Double, n: Int) -> Int? {
        let center = Foundation.log(slowdown)
        let halfWidth = (Foundation.log(ci.upper) - Foundation.log(ci.lower)) / 2
        let bound = Foundation.log(1 + threshold)
        // Room between the centre and the nearest threshold edge that a verdict needs cleared.
        let room = abs(center) < bound ? bound - abs(center) : abs(center) - bound
        let available = room - allowance
        guard available > 0, halfWidth > 0 else { return nil }
        let factor = halfWidth / available
        return max(n + 1, Int((Double(n) * factor * factor).rounded(.up)))
    }

    /// The run-to-run σ of ln(p50) a side measured between repeats (`--repeat`), nil if it did not.
    static func runEffect(_ measurement: Measurement) -> Double? {
        measurement.repeatSpread?.cv.map { Foundation.log(1 + $0) }
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

    /// The environment parameters that take one value in each file, a different one in each,
    /// so that `--force` pairs `mountOptions=volatile` with the defaults. Only the measurements
    /// that carry the parameter count: a copy-up's control (no overlay, no mount options) must
    /// not keep the option sets of the overlay measurements from pairing.
    static func pairingExemptions(_ baseline: [Measurement], _ current: [Measurement]) -> [String] {
        environmentParameters.filter { name in
            let b = Set(baseline.compactMap { $0.parameters[name] == nil ? nil : $0.text(name) })
            let c = Set(current.compactMap { $0.parameters[name] == nil ? nil : $0.text(name) })
            return b.count == 1 && c.count == 1 && b != c
        }
    }

    /// Everything that makes the two runs incomparable: kernel, effective mount options (minus
    /// layer paths), requested mount options, backing filesystem type and options, and the sizes.
    public static func environmentDifferences(baseline: ResultFile, current: ResultFile) -> [Difference] {
        var differences: [Difference] = []
        let b = baseline.environment
        let c = current.environment
        if kernelRelease(b.kernel) != kernelRelease(c.kernel) {
            differences.append(Difference(what: "kernel release", baseline: b.kernel, current: c.kernel))
        }
        if b.overlayParameters != c.overlayParameters {
            func text(_ parameters: [String: String]) -> String {
                parameters.isEmpty ? "none" : parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ",")
            }
            differences.append(Difference(what: "overlay module parameters", baseline: text(b.overlayParameters), current: text(c.overlayParameters)))
        }

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

    /// `6.18.44-fc-v657` → `6.18.44`: the release a kernel's behaviour follows; the rest is the
    /// build, which a rebuilt host changes without changing overlay.
    static func kernelRelease(_ kernel: String) -> String {
        String(kernel.prefix { $0.isNumber || $0 == "." })
    }

    /// What differs without making the runs incomparable, and runs that compare with themselves.
    public static func environmentWarnings(baseline: ResultFile, current: ResultFile) -> [String] {
        let b = baseline.environment
        let c = current.environment
        var warnings: [String] = []
        if b.kernel != c.kernel && kernelRelease(b.kernel) == kernelRelease(c.kernel) {
            warnings.append("kernel build differs (\(b.kernel) and \(c.kernel)); the release is the same")
        } else if b.kernelBuild != c.kernelBuild && b.kernel == c.kernel {
            warnings.append("kernel build string differs (\(b.kernelBuild) and \(c.kernelBuild))")
        }
        if b.cpuModel != c.cpuModel { warnings.append("CPU model differs (\(b.cpuModel) and \(c.cpuModel))") }
        if b.cpuCount != c.cpuCount { warnings.append("CPU count differs (\(b.cpuCount) and \(c.cpuCount))") }
        if b.hostname != c.hostname { warnings.append("host name differs (\(b.hostname) and \(c.hostname))") }
        if b.startTime == c.startTime && b.hostname == c.hostname && b.commandLine == c.commandLine {
            warnings.append("both files are the same run (started \(b.startTime) on \(b.hostname)): this compares a run with itself")
        }
        return warnings
    }

    private static func quoted(_ values: Set<String>?) -> String {
        guard let values, !values.isEmpty else { return "none" }
        return values.sorted().map { $0.isEmpty ? "\"\" (defaults)" : "\"\($0)\"" }.joined(separator: " | ")
    }
}
