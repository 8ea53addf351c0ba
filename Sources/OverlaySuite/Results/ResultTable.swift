import OverlayCore
import OverlayStatistics

/// The tables a run prints on a terminal: one per probe, with only the parameters that vary
/// inside it as columns (the constant ones are said once above the table), values in human
/// units, and the outlier warnings summarised under it. `wide` prints every measurement in one
/// table with every varying parameter, as the CSV and JSON keep them.
public enum ResultTable {
    /// Fitted values recorded as parameters of a summary row (`statSlope`); they are the row's
    /// figures, not what identifies it, so they are never columns.
    static let fittedParameters: Set<String> = ["slopeLow", "slopeHigh", "intercept", "rSquared", "percentiles", "points", "level", "fit"]
    /// Per-sample lists (an image copy-up's files and their sizes, in round order): too long for
    /// a column, and the row is named without them (`sizeClass`); the JSON and CSV keep them.
    static let listParameters: Set<String> = ["files", "fileSizes"]

    public static func render(_ measurements: [Measurement], wide: Bool = false) -> String {
        if measurements.isEmpty { return "no measurements\n" }
        if wide { return table(measurements, constantsLine: false) }
        // A probe's timings, its footprint counters and its fitted summaries carry different
        // parameters; each kind gets its own table, so no column is blank for most rows.
        var shapes: [[String]] = []
        func shape(_ m: Measurement) -> [String] { [m.probe] + Set(m.parameters.keys).subtracting(fittedParameters).sorted() }
        for m in measurements where !shapes.contains(shape(m)) { shapes.append(shape(m)) }
        return shapes.map { key in
            let group = measurements.filter { shape($0) == key }
            return table(group, constantsLine: true) + warningSummary(group)
        }.joined(separator: "\n")
    }

    private static func table(_ measurements: [Measurement], constantsLine: Bool) -> String {
        // Under a title line the probe column would repeat the title on every row.
        let parameterNames = orderedParameterNames(measurements, lists: !constantsLine)
        let showsSpread = measurements.contains { $0.repeatSpread != nil }
        let showsInterval = measurements.contains { $0.interval != nil }
        let leading = constantsLine ? ["backend", "metric"] : ["probe", "backend", "metric"]
        let header = leading + parameterNames + ["n", "p50", "p90", "p99", "min", "max"]
            + (showsInterval ? ["95% CI"] : []) + (showsSpread ? ["cv"] : [])
        let rows = measurements.map { m in
            (constantsLine ? [] : [m.probe]) + [m.backend, m.metric]
                + parameterNames.map { name in m.parameters[name].map { format(parameter: name, $0) } ?? "" } + figures(m)
                + (showsInterval ? [m.interval.map { format(value: $0.lower, unit: m.unit) + "–" + format(value: $0.upper, unit: m.unit) } ?? ""] : [])
                + (showsSpread ? [m.repeatSpread.map(spread) ?? ""] : [])
        }
        let leftAligned = leading.count + parameterNames.count
        let widths = header.indices.map { column in ([header[column]] + rows.map { $0[column] }).map(\.count).max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                let pad = String(repeating: " ", count: max(0, widths[index] - cell.count))
                return index < leftAligned ? cell + pad : pad + cell
            }.joined(separator: "  ").trailingSpacesRemoved
        }
        var lines: [String] = []
        if constantsLine {
            let constants = constantParameters(measurements)
            lines += wrap(measurements[0].probe + (constants.isEmpty ? "" : ": " + constants.joined(separator: ", ")), width: 160)
        }
        lines += [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.map(line)
        return lines.joined(separator: "\n") + "\n"
    }

    /// n and the five figures; a percentile vector shows its own percentiles, a single value
    /// (a counter, a fitted slope) only its value.
    static func figures(_ m: Measurement) -> [String] {
        guard let s = m.summary else { return ["0", "skipped: \(m.skipped ?? "no samples")", "", "", "", ""] }
        if let levels = percentileLevels(m) {
            func at(_ level: Double) -> String {
                levels.firstIndex(of: level).map { HumanUnits.format(m.samples[$0], unit: m.unit) } ?? ""
            }
            let operations = m.parameters["operations"]?.intValue.map(String.init) ?? ""
            return [operations, at(50), at(90), at(99), at(0), at(100)]
        }
        if s.n == 1 { return ["1", HumanUnits.format(s.p50, unit: m.unit), "", "", "", ""] }
        return ["\(s.n)"] + [s.p50, s.p90, s.p99, s.min, s.max].map { HumanUnits.format($0, unit: m.unit) }
    }

    /// The percentile levels of a measurement whose samples are percentiles of one run
    /// (`parameters.percentiles`), when they pair up with the samples.
    static func percentileLevels(_ m: Measurement) -> [Double]? {
        guard case .string(let text)? = m.parameters["percentiles"] else { return nil }
        let levels = text.split(separator: ",").compactMap { Double($0) }
        return levels.count == m.samples.count ? levels : nil
    }

    /// `4.2%`, or `12.9% !` above ``SampleBook/repeatSpreadLimit`` (the result carries a warning).
    static func spread(_ spread: RepeatSpread) -> String {
        guard let cv = spread.cv else { return "-" }
        return String(format: "%.1f%%", cv * 100) + (cv > SampleBook.repeatSpreadLimit ? " !" : "")
    }

    /// Parameters that vary between measurements (a constant column says nothing), `size` first.
    /// `lists: false` leaves out ``listParameters`` (the per-probe tables; `--wide` keeps them).
    static func orderedParameterNames(_ measurements: [Measurement], lists: Bool = true) -> [String] {
        let all = Set(measurements.flatMap { $0.parameters.keys }).subtracting(fittedParameters)
        let varying = all.filter { name in Set(measurements.map { $0.parameters[name]?.description ?? "" }).count > 1 }
            .subtracting(lists ? [] : listParameters)
        let preferred = ["size", "engine", "depth", "position", "cache", "mountOptions", "fs", "trigger"]
        return preferred.filter(varying.contains) + varying.subtracting(preferred).sorted()
    }

    /// `cache=warm, fs=root`: the parameters every measurement of the group shares.
    static func constantParameters(_ measurements: [Measurement]) -> [String] {
        let all = Set(measurements.flatMap { $0.parameters.keys }).subtracting(fittedParameters)
        return all.sorted().compactMap { name in
            let values = Set(measurements.map { $0.parameters[name]?.description ?? "" })
            guard values.count == 1, let value = measurements[0].parameters[name] else { return nil }
            return "\(name)=\(format(parameter: name, value))"
        }
    }

    /// One line per probe for what its measurements warn about (outliers are kept, never dropped).
    static func warningSummary(_ measurements: [Measurement]) -> String {
        let warned = measurements.filter { !($0.warnings ?? []).isEmpty }
        guard !warned.isEmpty else { return "" }
        let outliers = warned.filter { $0.warnings!.contains { $0.contains("outlier") } }
        var lines: [String] = []
        if !outliers.isEmpty {
            let names = Set(outliers.map(\.metric)).sorted().joined(separator: ", ")
            lines.append("note: \(outliers.count) of \(measurements.count) measurements have outliers (kept; see the JSON for which samples): \(names)")
        }
        let others = Set(warned.flatMap { $0.warnings! }.filter { !$0.contains("outlier") }).sorted()
        lines += others.map { "warning: \($0)" }
        return lines.flatMap { wrap($0, width: 160) }.joined(separator: "\n") + "\n"
    }

    static func wrap(_ text: String, width: Int) -> [String] { TextWrap.lines(text, width: width, indent: "  ") }

    static func format(parameter name: String, _ value: ParameterValue) -> String {
        if name == "size", let bytes = value.intValue { return ByteCount.format(bytes) }
        if case .string(let s) = value, s.isEmpty { return name == "mountOptions" ? "defaults" : "-" }
        if case .double(let d) = value { return String(format: "%.4g", d) }
        return value.description
    }

    /// A value in human units (kept for the comparison and merge tables).
    public static func format(value: Double, unit: String) -> String { HumanUnits.format(value, unit: unit) }
}

extension String {
    var trailingSpacesRemoved: String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
