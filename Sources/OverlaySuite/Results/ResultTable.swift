import Foundation
import OverlayCore
import OverlayStatistics

/// The readable table a run prints: one row per measurement, latencies in human units.
public enum ResultTable {
    public static func render(_ measurements: [Measurement]) -> String {
        let parameterNames = orderedParameterNames(measurements)
        let showsSpread = measurements.contains { $0.repeatSpread != nil }
        let showsInterval = measurements.contains { $0.interval != nil }
        var header = ["probe", "backend", "metric"] + parameterNames + ["n", "p50", "p90", "p99", "min", "max"]
            + (showsInterval ? ["95% CI"] : []) + (showsSpread ? ["cv"] : [])
        var rows: [[String]] = []
        for m in measurements {
            var row = [m.probe, m.backend, m.metric]
            row += parameterNames.map { name in m.parameters[name].map { format(parameter: name, $0) } ?? "" }
            if let s = m.summary {
                row += ["\(s.n)"] + [s.p50, s.p90, s.p99, s.min, s.max].map { format(value: $0, unit: m.unit) }
            } else {
                row += ["0", "skipped: \(m.skipped ?? "no samples")", "", "", "", ""]
            }
            if showsInterval {
                row.append(m.interval.map { format(value: $0.lower, unit: m.unit) + "–" + format(value: $0.upper, unit: m.unit) } ?? "")
            }
            if showsSpread { row.append(m.repeatSpread.map(spread) ?? "") }
            rows.append(row)
        }
        if rows.isEmpty { header = ["no measurements"] }
        let widths = header.indices.map { column in
            ([header[column]] + rows.map { column < $0.count ? $0[column] : "" }).map(\.count).max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                return index < 3 || (index >= 3 && index < 3 + parameterNames.count) ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }
        return ([line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line))
            .joined(separator: "\n") + "\n"
    }

    /// `4.2%`, or `12.9% !` above ``SampleBook/repeatSpreadLimit`` (the result carries a warning).
    static func spread(_ spread: RepeatSpread) -> String {
        guard let cv = spread.cv else { return "-" }
        return String(format: "%.1f%%", cv * 100) + (cv > SampleBook.repeatSpreadLimit ? " !" : "")
    }

    /// Parameters that vary between measurements (a constant column says nothing), `size` first.
    static func orderedParameterNames(_ measurements: [Measurement]) -> [String] {
        let all = Set(measurements.flatMap { $0.parameters.keys })
        let varying = all.filter { name in Set(measurements.map { $0.parameters[name]?.description ?? "" }).count > 1 }
        let preferred = ["size", "engine", "depth", "position", "cache", "mountOptions", "fs", "trigger"]
        return preferred.filter(varying.contains) + varying.subtracting(preferred).sorted()
    }

    static func format(parameter name: String, _ value: ParameterValue) -> String {
        if name == "size", let bytes = value.intValue { return ByteCount.format(bytes) }
        if case .string(let s) = value, s.isEmpty { return "defaults" }
        return value.description
    }

    /// `812ns`, `20.4µs`, `3.12ms`, `1.53s`; other units as numbers.
    public static func format(value: Double, unit: String) -> String {
        guard unit == "ns" else { return String(format: "%.3g %@", value, unit) }
        switch value {
        case ..<1_000: return String(format: "%.0fns", value)
        case ..<1_000_000: return String(format: "%.1fµs", value / 1_000)
        case ..<1_000_000_000: return String(format: "%.2fms", value / 1_000_000)
        default: return String(format: "%.2fs", value / 1_000_000_000)
        }
    }
}
