import OverlayStatistics

/// Collects raw samples as a probe takes them, so an interrupted run can still write what it
/// gathered. Keys keep their first-seen order, which is the order the report lists them in.
public final class SampleBook {
    public struct Key: Hashable, Sendable {
        public var probe: String
        public var backend: String
        public var metric: String
        public var unit: String
        public var parameters: [String: ParameterValue]
    }

    private var order: [Key] = []
    private var samples: [Key: [Double]] = [:]
    /// Per sample: the round it was taken in, and the repeat of the whole plan (`--repeat`).
    private var rounds: [Key: [Int]] = [:]
    private var slots: [Key: [Int]] = [:]
    private var repeats: [Key: [Int]] = [:]
    private var warnings: [Key: [String]] = [:]
    private var skipped: [Key: String] = [:]
    private var intervals: [Key: ConfidenceInterval] = [:]

    /// The repeat of the whole plan being run (`--repeat N`), recorded with every sample.
    public var currentRepeat = 0
    /// Repeats the run was asked for; above 1 every measurement reports its between-repeat spread.
    public var plannedRepeats = 1
    /// A between-repeat coefficient of variation of the p50s above this is warned about.
    public static let repeatSpreadLimit = 0.10

    public init() {}

    /// Records one sample; `round` is the sampling round it was taken in and `slot` its trial's
    /// place in that round's shuffled order, when there are such.
    public func record(_ value: Double, for key: Key, round: Int? = nil, slot: Int? = nil) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
        samples[key]!.append(value)
        rounds[key, default: []].append(round ?? -1)
        slots[key, default: []].append(slot ?? -1)
        repeats[key, default: []].append(currentRepeat)
    }

    /// Gives `key` its place in the order before its first sample (the sampler declares every
    /// round's trials in their declared order, so that a shuffle does not shuffle the table).
    /// A key that never gets a sample, a warning, a skip or an interval is left out.
    public func declare(_ key: Key) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
    }

    /// The samples recorded for `key` so far, only those of repeat `repeatIndex` when given.
    public func values(for key: Key, repeat repeatIndex: Int? = nil) -> [Double] {
        let values = samples[key] ?? []
        guard let repeatIndex else { return values }
        let tags = repeats[key] ?? []
        return values.indices.filter { tags[$0] == repeatIndex }.map { values[$0] }
    }

    /// The confidence interval of a derived figure (a ratio of medians), replacing an earlier one.
    public func setInterval(_ interval: ConfidenceInterval, for key: Key) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
        intervals[key] = interval
    }

    public func warn(_ text: String, for key: Key) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
        warnings[key, default: []].append(text)
    }

    public func skip(_ key: Key, reason: String) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
        skipped[key] = reason
    }

    /// The measurements so far, with outliers flagged (never dropped).
    public func measurements() -> [Measurement] {
        order.filter { key in
            !(samples[key] ?? []).isEmpty || skipped[key] != nil || warnings[key] != nil || intervals[key] != nil
        }.map { key in
            let values = samples[key] ?? []
            if let reason = skipped[key], values.isEmpty {
                return Measurement.skipped(probe: key.probe, backend: key.backend, metric: key.metric, unit: key.unit,
                                           parameters: key.parameters, reason: reason)
            }
            var notes = warnings[key] ?? []
            // A percentile vector's tail is its point, not an outlier among repeats.
            let outliers = key.parameters["percentiles"] == nil ? Outliers.flag(values) : []
            if !outliers.isEmpty {
                notes.append("\(outliers.count) outlier(s) by modified z-score > 3.5 at sample index \(outliers.map(String.init).joined(separator: ",")); kept")
            }
            var measurement = Measurement(probe: key.probe, backend: key.backend, metric: key.metric, unit: key.unit,
                                          parameters: key.parameters, samples: values)
            measurement.interval = intervals[key]
            if let tags = rounds[key], tags.contains(where: { $0 >= 0 }) {
                measurement.rounds = tags
                measurement.slots = slots[key]
            }
            if plannedRepeats > 1, let tags = repeats[key] {
                measurement.repeats = tags
                let spread = RepeatSpread(values: values, repeats: tags)
                measurement.repeatSpread = spread
                if let cv = spread?.cv, cv > Self.repeatSpreadLimit {
                    notes.append(String(format: "between-repeat CV of the p50s is %.1f%% (over %d repeats), above %.0f%%: this figure does not repeat",
                                        cv * 100, spread!.p50s.count, Self.repeatSpreadLimit * 100))
                }
            }
            measurement.warnings = notes.isEmpty ? nil : notes
            return measurement
        }
    }
}
