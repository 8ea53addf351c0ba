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
    private var warnings: [Key: [String]] = [:]
    private var skipped: [Key: String] = [:]

    public init() {}

    public func record(_ value: Double, for key: Key) {
        if samples[key] == nil { order.append(key); samples[key] = [] }
        samples[key]!.append(value)
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
        order.map { key in
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
            return Measurement(probe: key.probe, backend: key.backend, metric: key.metric, unit: key.unit,
                               parameters: key.parameters, samples: values, warnings: notes.isEmpty ? nil : notes)
        }
    }
}
