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

    // MARK: - Bencher Metric Format

    /// `{ "<identity>": { "<measure>": { "value": p50, "lower_value": p10, "upper_value": p90 } } }`,
    /// the measure being `latency` for time units, `throughput` for rates, otherwise the unit.
    /// See https://bencher.dev/docs/reference/bencher-metric-format/.
    public static func bmf(_ measurements: [Measurement]) throws -> String {
        struct Metric: Encodable {
            var value: Double
            var lower_value: Double
            var upper_value: Double
        }
        var document: [String: [String: Metric]] = [:]
        for m in measurements where m.hasSamples {
            let metric = Metric(value: m.percentile(50)!, lower_value: m.percentile(10)!, upper_value: m.percentile(90)!)
            document[m.identity, default: [:]][bmfMeasure(unit: m.unit)] = metric
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    static func bmfMeasure(unit: String) -> String {
        switch unit {
        case "ns", "us", "µs", "ms", "s": "latency"
        case _ where Measurement.higherIsBetterUnits.contains(unit): "throughput"
        default: unit
        }
    }

    // MARK: - OpenMetrics

    /// One gauge family per metric and unit, `overlaybench_<metric>_<unit>`, with the probe,
    /// backend and every parameter as labels and a `quantile` label for min (0), p50, p90, p99
    /// and max (1). Ends with `# EOF` as the OpenMetrics 1.0 text format requires.
    public static func openMetrics(_ measurements: [Measurement]) -> String {
        var order: [String] = []
        var families: [String: [Measurement]] = [:]
        for m in measurements where m.hasSamples {
            let name = "overlaybench_\(metricName(m.metric))_\(metricName(unitName(m.unit)))"
            if families[name] == nil { order.append(name) }
            families[name, default: []].append(m)
        }
        var lines: [String] = []
        for name in order {
            let members = families[name]!
            lines.append("# TYPE \(name) gauge")
            lines.append("# HELP \(name) \(members[0].metric) of the \(members[0].probe) probe in \(members[0].unit), quantiles over the samples.")
            for m in members {
                let s = m.summary!
                var labels = [("probe", m.probe), ("backend", m.backend)]
                labels += Measurement.orderedParameterNames(m.parameters.keys).map { (metricName($0), m.parameters[$0]!.description) }
                for (quantile, value) in [("0", s.min), ("0.5", s.p50), ("0.9", s.p90), ("0.99", s.p99), ("1", s.max)] {
                    let text = (labels + [("quantile", quantile)])
                        .map { "\($0.0)=\"\(escapeLabel($0.1))\"" }.joined(separator: ",")
                    lines.append("\(name){\(text)} \(number(value))")
                }
            }
        }
        lines.append("# EOF")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `GB/s` → `GB_per_s`; `%` → `percent`.
    static func unitName(_ unit: String) -> String {
        unit.replacingOccurrences(of: "/", with: "_per_").replacingOccurrences(of: "%", with: "percent")
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
