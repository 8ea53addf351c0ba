import Foundation
import OverlayStatistics

/// The two forms `overlaybench compare` prints: Markdown for people, JSON for scripts.
extension Comparison {
    public func markdown() -> String {
        var lines = ["# OverlayBench comparison", ""]
        lines.append("- baseline: `\(baselinePath)`")
        lines.append("- current: `\(currentPath)`")
        lines.append(String(format: "- rule: the %g%% bootstrap interval of the median ratio (above 1 is worse), widened by the run-to-run allowance, ", level * 100)
            + "lies above 1 + threshold (regression), below 1 − threshold (improvement), inside ±threshold (unchanged), or across an edge (inconclusive)")
        if adjustedLevel != level {
            lines.append(String(format: "- false coverage rate: the %d metrics that cleared their threshold were judged again at %.3g%%", regressions.count + improvements.count + entries.filter { $0.note?.hasPrefix("clears the threshold") == true }.count, adjustedLevel * 100))
        }
        lines.append(runToRunMeasured
            ? "- run-to-run allowance: from the between-repeat spread the runs measured (--repeat)"
            : "- run-to-run allowance: **not measured** (neither run used --repeat), so a drift between runs can read as a change")
        for warning in warnings { lines.append("- warning: \(warning)") }
        lines.append("")
        if let cannotJudge {
            lines.append("## Cannot judge: \(cannotJudge)")
            return lines.joined(separator: "\n") + "\n"
        }
        if !differences.isEmpty {
            lines.append(refused
                ? "## Not comparable: the environments differ (pass --force to compare anyway)"
                : "## The environments differ (compared anyway: --force)")
            lines.append("")
            for difference in differences {
                lines.append("- **\(difference.what)**: baseline \(difference.baseline); current \(difference.current)")
            }
            lines.append("")
            if refused { return lines.joined(separator: "\n") + "\n" }
        }
        lines.append("## Results")
        lines.append("")
        if entries.isEmpty {
            lines.append("No measurement appears in both files.")
        } else {
            lines.append("| verdict | probe | backend | metric | parameters | baseline p50 | current p50 | worse × | judged interval | threshold |")
            lines.append("|---|---|---|---|---|---:|---:|---:|---|---:|")
            for entry in entries {
                var cells = [verdictLabel(entry), entry.probe, entry.backend, entry.metric, entry.parameters]
                cells.append(ResultTable.format(value: entry.baselineMedian, unit: entry.unit))
                cells.append(ResultTable.format(value: entry.currentMedian, unit: entry.unit))
                cells.append(entry.slowdown.map { String(format: "%.3f", $0) } ?? "–")
                cells.append(entry.decisionInterval.map(Self.interval) ?? "–")
                cells.append(String(format: "±%g%%", entry.threshold * 100))
                lines.append("| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
            }
        }
        lines.append("")
        for (title, identities) in [("Only in the baseline", onlyInBaseline), ("Only in the current run", onlyInCurrent)] where !identities.isEmpty {
            lines.append("\(title) (not compared): " + identities.map { "`\($0)`" }.joined(separator: ", "))
            lines.append("")
        }
        let notCompared = entries.count - regressions.count - improvements.count - unchanged.count - inconclusive.count
        lines.append("**\(regressions.count) regression(s), \(improvements.count) improvement(s), \(unchanged.count) unchanged, "
            + "\(inconclusive.count) inconclusive, \(notCompared) not compared.**")
        for entry in regressions { lines.append("- regression: \(entry.probe) \(entry.metric) (\(entry.parameters)) \(Self.change(entry))" + (entry.note.map { ": \($0)" } ?? "")) }
        for entry in improvements { lines.append("- improvement: \(entry.probe) \(entry.metric) (\(entry.parameters)) \(Self.change(entry))" + (entry.note.map { ": \($0)" } ?? "")) }
        for entry in inconclusive {
            lines.append("- inconclusive: \(entry.probe) \(entry.metric) (\(entry.parameters)) \(Self.change(entry)): \(entry.note ?? "")")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() throws -> String {
        struct Document: Encodable {
            var schema = "overlaybench.comparison/1"
            var comparison: Comparison
            var refused: Bool
            var exitStatus: Int32
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let document = Document(comparison: self, refused: refused, exitStatus: exitStatus)
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    private func verdictLabel(_ entry: Entry) -> String {
        switch entry.verdict {
        case .regression: "**regression**"
        case .improvement: "improvement"
        case .unchanged: "unchanged"
        case .inconclusive: "inconclusive"
        case .notCompared: "not compared (\(entry.note ?? ""))"
        }
    }

    static func interval(_ ci: ConfidenceInterval) -> String { String(format: "%.3f–%.3f", ci.lower, ci.upper) }

    /// `+31.0% (p50 3.10ms → 4.06ms)`.
    static func change(_ entry: Entry) -> String {
        let percent = ((entry.slowdown ?? 1) - 1) * 100
        return String(format: percent >= 0 ? "%.1f%% worse" : "%.1f%% better", abs(percent)) + " (p50 \(ResultTable.format(value: entry.baselineMedian, unit: entry.unit)) → \(ResultTable.format(value: entry.currentMedian, unit: entry.unit)))"
    }
}
