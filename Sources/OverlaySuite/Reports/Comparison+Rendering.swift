import Foundation
import OverlayStatistics

/// The two forms `overlaybench compare` prints: Markdown for people, JSON for scripts.
extension Comparison {
    public func markdown() -> String {
        var lines = ["# OverlayBench comparison", ""]
        lines.append("- baseline: `\(baselinePath)`")
        lines.append("- current: `\(currentPath)`")
        lines.append(String(format: "- rule: a change counts when Mann–Whitney p < %g and the %g%% interval of the median ratio, widened by the run-to-run allowance, lies beyond ±%g%%", alpha, level * 100, threshold * 100))
        if entries.count > 1 {
            lines.append(String(format: "- Bonferroni over %d metrics: each is judged at p < %.2g with %.2f%% intervals", entries.count, perMetricAlpha, perMetricLevel * 100))
        }
        lines.append("")
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
            lines.append("| verdict | probe | backend | metric | parameters | baseline p50 | current p50 | ratio | \(String(format: "%.4g", perMetricLevel * 100))% CI | judged interval | p |")
            lines.append("|---|---|---|---|---|---:|---:|---:|---|---|---:|")
            for entry in entries {
                let cells = [
                    verdictLabel(entry), entry.probe, entry.backend, entry.metric, entry.parameters,
                    ResultTable.format(value: entry.baselineMedian, unit: entry.unit),
                    ResultTable.format(value: entry.currentMedian, unit: entry.unit),
                    entry.ratio.map { String(format: "%.3f", $0) } ?? "–",
                    entry.ci.map(Self.interval) ?? "–",
                    entry.decisionInterval.map(Self.interval) ?? "–",
                    entry.pValue.map { String(format: "%.2g", $0) } ?? "–",
                ]
                lines.append("| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |")
            }
        }
        lines.append("")
        for (title, identities) in [("Only in the baseline", onlyInBaseline), ("Only in the current run", onlyInCurrent)] where !identities.isEmpty {
            lines.append("\(title) (not compared): " + identities.map { "`\($0)`" }.joined(separator: ", "))
            lines.append("")
        }
        let unchanged = entries.count - regressions.count - improvements.count
        lines.append("**\(regressions.count) regression(s), \(improvements.count) improvement(s), \(unchanged) unchanged.**")
        for entry in regressions {
            lines.append("- regression: \(entry.probe) \(entry.metric) (\(entry.parameters)) \(Self.change(entry))")
        }
        for entry in improvements {
            lines.append("- improvement: \(entry.probe) \(entry.metric) (\(entry.parameters)) \(Self.change(entry))")
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
        case .unchanged: entry.note.map { "unchanged (\($0))" } ?? "unchanged"
        case .notCompared: "not compared (\(entry.note ?? ""))"
        }
    }

    static func interval(_ ci: ConfidenceInterval) -> String { String(format: "%.3f–%.3f", ci.lower, ci.upper) }

    /// `+31.0% (p50 3.10ms → 4.06ms)`.
    static func change(_ entry: Entry) -> String {
        let percent = ((entry.ratio ?? 1) - 1) * 100
        return String(format: "%+.1f%%", percent) + " (p50 \(ResultTable.format(value: entry.baselineMedian, unit: entry.unit)) → \(ResultTable.format(value: entry.currentMedian, unit: entry.unit)))"
    }
}
