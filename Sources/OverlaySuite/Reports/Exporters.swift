import Foundation
import OverlayStatistics

/// Writes a result file's measurements in the formats other tools read: CSV for spreadsheets and
/// pandas, Bencher Metric Format (BMF) JSON for bencher.dev, and OpenMetrics text for Prometheus.
public enum Exporters {
    /// The formats `overlaybench export --format` accepts.
    public enum Format: String, CaseIterable, Sendable {
        case csv
        case bmf
        case openmetrics

        /// The file extension `run` and `export` use.
        public var fileExtension: String {
            switch self {
            case .csv: "csv"
            case .bmf: "bmf.json"
            case .openmetrics: "prom"
            }
        }
    }

    public static func export(_ result: ResultFile, as format: Format) throws -> String {
        switch format {
        case .csv: csv(result.measurements)
        case .bmf: try bmf(result.measurements)
        case .openmetrics: openMetrics(result.measurements)
        }
    }

    // MARK: - CSV

    /// `runs/a.json` → `runs/a.csv`: where `run --out` puts the CSV beside the result file.
    public static func csvPath(beside resultPath: String) -> String {
        (resultPath.hasSuffix(".json") ? String(resultPath.dropLast(5)) : resultPath) + ".csv"
    }

    /// One row per measurement (RFC 4180 quoting): probe, backend, metric, unit, one column per
    /// parameter any measurement has, the summary, and why a measurement was skipped.
    public static func csv(_ measurements: [Measurement]) -> String {
        let parameterNames = Measurement.orderedParameterNames(measurements.flatMap { $0.parameters.keys })
        let header = ["probe", "backend", "metric", "unit"] + parameterNames
            + ["n", "min", "p50", "p90", "p99", "max", "mean", "stddev", "skipped"]
        var lines = [header.map(csvField).joined(separator: ",")]
        for m in measurements {
            var row = [m.probe, m.backend, m.metric, m.unit]
            // Raw parameter values (bytes, not `4KiB`), so the column stays numeric.
            row += parameterNames.map { m.parameters[$0]?.description ?? "" }
            if let s = m.summary, m.skipped == nil {
                row += ["\(s.n)"] + [s.min, s.p50, s.p90, s.p99, s.max, s.mean, s.stddev].map(number)
            } else {
                row += ["0", "", "", "", "", "", "", ""]
            }
            row.append(m.skipped ?? "")
            lines.append(row.map(csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Integers without `.0`, everything else in the shortest form that round-trips.
    static func number(_ value: Double) -> String {
        if value.rounded() == value && abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    // MARK: - Series identity

    /// Parameters that describe how a figure came about on this host rather than which
    /// configuration it measures: fitted values (a slope's interval, R²), percentile levels, and
    /// the mount method (which carries a version string). A series tracked over time is named
    /// without them, so it keeps its name from run to run.
    static let nonIdentityParameters: Set<String> = ResultTable.fittedParameters.union(["mountMethod", "coldMethod"])

    /// `copyup/kernel/firstWrite[cache=warm,mountOptions=,size=4096]`: probe, backend, metric and
    /// the parameters that define the configuration.
    public static func seriesName(_ m: Measurement) -> String {
        let names = m.parameters.keys.filter { !nonIdentityParameters.contains($0) }.sorted()
        return "\(m.probe)/\(m.backend)/\(m.metric)[" + names.map { "\($0)=\(m.parameters[$0]!)" }.joined(separator: ",") + "]"
    }

    // MARK: - Bencher Metric Format

    /// `{ "<series>": { "<measure>": { "value": p50, "lower_value": p10, "upper_value": p90 } } }`.
    /// Latencies use Bencher's built-in `latency` measure in nanoseconds; rates and counters use
    /// custom measures whose slug names their unit (`bytes-per-second`, `bytes`, `inodes`), so
    /// GB/s is never sent as Bencher's operations-per-second `throughput`. A fitted slope's value
    /// comes with its own interval. See https://bencher.dev/docs/reference/bencher-metric-format/.
    public static func bmf(_ measurements: [Measurement]) throws -> String {
        struct Metric: Encodable {
            var value: Double
            var lower_value: Double
            var upper_value: Double
        }
        var document: [String: [String: Metric]] = [:]
        for m in measurements where m.hasSamples {
            let (measure, scale) = bmfMeasure(unit: m.unit)
            var metric = Metric(value: m.percentile(50)! * scale, lower_value: m.percentile(10)! * scale, upper_value: m.percentile(90)! * scale)
            if let low = m.parameters["slopeLow"]?.doubleValue, let high = m.parameters["slopeHigh"]?.doubleValue {
                metric.lower_value = low * scale
                metric.upper_value = high * scale
            }
            document[seriesName(m), default: [:]][measure] = metric
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    /// The BMF measure slug for a unit, and the factor that converts a value into it.
    static func bmfMeasure(unit: String) -> (slug: String, scale: Double) {
        switch unit {
        case "ns": ("latency", 1)
        case "ns/layer": ("latency-per-layer", 1)
        case "GB/s": ("bytes-per-second", 1e9)
        case "MB/s": ("bytes-per-second", 1e6)
        case "files/s": ("files-per-second", 1)
        default: (unit.lowercased().map { $0.isLetter || $0.isNumber ? String($0) : "-" }.joined(), 1)
        }
    }

    // MARK: - OpenMetrics

    /// One summary family per metric, in base units (seconds, bytes, bytes per second), named
    /// `overlaybench_<metric>_<unit>` with the unit once and declared by `# UNIT`; the probe,
    /// backend and the configuration's parameters as labels; the sample quantiles 0, 0.5, 0.9,
    /// 0.99 and 1 with `_count` (the samples) and `_sum`. Ends with `# EOF` as OpenMetrics 1.0
    /// requires. A fitted value (a slope and its interval) is a gauge and its bounds are gauges
    /// of their own, never labels.
    public static func openMetrics(_ measurements: [Measurement]) -> String {
        var order: [String] = []
        var families: [String: (unit: String, scale: Double, members: [Measurement])] = [:]
        for m in measurements where m.hasSamples {
            let (name, unit, scale) = openMetricsName(m)
            if families[name] == nil {
                order.append(name)
                families[name] = (unit, scale, [])
            }
            families[name]!.members.append(m)
        }
        var lines: [String] = []
        for name in order {
            let (unit, scale, members) = families[name]!
            let single = members.allSatisfy { $0.samples.count == 1 }
            lines.append("# TYPE \(name) \(single ? "gauge" : "summary")")
            if !unit.isEmpty { lines.append("# UNIT \(name) \(unit)") }
            lines.append("# HELP \(name) \(members[0].metric) of the \(members[0].probe) probe\(unit.isEmpty ? "" : " in \(unit)")\(single ? "" : ", quantiles over the samples").")
            for m in members {
                let s = m.summary!
                var labels = [("probe", m.probe), ("backend", m.backend)]
                labels += Measurement.orderedParameterNames(m.parameters.keys).filter { !nonIdentityParameters.contains($0) }
                    .map { (metricName($0), m.parameters[$0]!.description) }
                func labelText(_ extra: [(String, String)] = []) -> String {
                    (labels + extra).map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
                }
                if single {
                    lines.append("\(name){\(labelText())} \(sampleValue(s.p50 * scale))")
                    continue
                }
                for (quantile, value) in [("0", s.min), ("0.5", s.p50), ("0.9", s.p90), ("0.99", s.p99), ("1", s.max)] {
                    lines.append("\(name){\(labelText([("quantile", quantile)]))} \(sampleValue(value * scale))")
                }
                lines.append("\(name)_count{\(labelText())} \(s.n)")
                lines.append("\(name)_sum{\(labelText())} \(sampleValue(m.samples.reduce(0, +) * scale))")
            }
            // A fitted slope's interval: two gauges beside it, so no series is named by a value.
            let bounded = members.filter { $0.parameters["slopeLow"]?.doubleValue != nil && $0.parameters["slopeHigh"]?.doubleValue != nil }
            for (suffix, parameter) in [("lower", "slopeLow"), ("upper", "slopeHigh")] where !bounded.isEmpty {
                let bound = name.replacingOccurrences(of: "_\(unit)", with: "") + "_ci_\(suffix)" + (unit.isEmpty ? "" : "_\(unit)")
                lines.append("# TYPE \(bound) gauge")
                if !unit.isEmpty { lines.append("# UNIT \(bound) \(unit)") }
                lines.append("# HELP \(bound) the \(suffix) end of the 95% interval of \(members[0].metric).")
                for m in bounded {
                    var labels = [("probe", m.probe), ("backend", m.backend)]
                    labels += Measurement.orderedParameterNames(m.parameters.keys).filter { !nonIdentityParameters.contains($0) }
                        .map { (metricName($0), m.parameters[$0]!.description) }
                    let text = labels.map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
                    lines.append("\(bound){\(text)} \(sampleValue(m.parameters[parameter]!.doubleValue! * scale))")
                }
            }
        }
        lines.append("# EOF")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The family name, its base unit and the factor into it: `firstWrite` in ns →
    /// `overlaybench_first_write_seconds` (×1e-9); `upperBytes` → `overlaybench_upper_bytes`
    /// (the unit once); `throughput` in GB/s → `overlaybench_throughput_bytes_per_second`;
    /// `upperInodes` → `overlaybench_upper_inodes` (a count has no base unit).
    /// A sample value in base units: twelve significant digits, so that a unit conversion's
    /// rounding (1000 ns × 1e-9 = 1.0000000000000002e-06 s) does not leak into the text.
    static func sampleValue(_ value: Double) -> String { String(format: "%.12g", value) }

    static func openMetricsName(_ m: Measurement) -> (name: String, unit: String, scale: Double) {
        let base = "overlaybench_" + metricName(m.metric)
        let (unit, scale): (String, Double) = switch m.unit {
        case "ns": ("seconds", 1e-9)
        case "ns/layer": ("seconds_per_layer", 1e-9)
        case "bytes": ("bytes", 1)
        case "GB/s": ("bytes_per_second", 1e9)
        case "MB/s": ("bytes_per_second", 1e6)
        case "files/s": ("files_per_second", 1)
        default: ("", 1)
        }
        if unit.isEmpty || base.hasSuffix("_" + unit) { return (base, base.hasSuffix("_" + unit) ? unit : "", scale) }
        return (base + "_" + unit, unit, scale)
    }

    /// `firstWrite` → `first_write`; anything outside `[a-zA-Z0-9_]` becomes `_`.
    static func metricName(_ text: String) -> String {
        var result = ""
        var previousWasLower = false
        for character in text {
            if character.isUppercase && previousWasLower { result.append("_") }
            previousWasLower = character.isLowercase || character.isNumber
            if character.isASCII && (character.isLetter || character.isNumber || character == "_") {
                result.append(Character(character.lowercased()))
            } else {
                result.append("_")
            }
        }
        if let first = result.first, first.isNumber { result = "_" + result }
        return result
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
