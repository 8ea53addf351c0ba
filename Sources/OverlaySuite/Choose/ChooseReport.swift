import Foundation
import OverlayCore

/// The ranked tables of `overlaybench choose`, as terminal text and as a report section.
public enum ChooseReport {
    public static let header = ["#", "variant", "trace p50", "copy-up fixed", "copy-up per MiB", "lookup ns/layer",
                                "upper bytes", "upper inodes", "failed ops", "why"]

    public static func cells(_ row: ChooseRunner.Row) -> [String] {
        if row.notRun != nil {
            return ["–", row.variantLabel, "not run", "–", "–", "–", "–", "–", "–", row.reason]
        }
        return [
            "\(row.rank)", row.variantLabel, duration(row.traceNanoseconds),
            row.copyUpFixedMicroseconds.map { String(format: "%.0f µs", $0) } ?? "–",
            row.copyUpMicrosecondsPerMiB.map { String(format: "%.1f µs", $0) } ?? "–",
            row.lookupNanosecondsPerLayer.map { String(format: "%.1f", $0) } ?? "–",
            ByteCount.format(row.upperBytes), "\(row.upperInodes)", "\(row.failedOperations)", row.reason,
        ]
    }

    /// Plain-text tables for the terminal, one per profile.
    public static func text(_ rankings: [(profile: WorkloadProfile, rows: [ChooseRunner.Row])]) -> String {
        var out = ""
        for (profile, rows) in rankings {
            out += "\nprofile \(profile.name): \(profile.summary) (\(profile.operations.count) operations)\n"
            let table = [header] + rows.map(cells)
            let widths = (0..<header.count).map { column in table.map { $0[column].count }.max() ?? 0 }
            for (index, line) in table.enumerated() {
                out += zip(line, widths).enumerated().map { column, pair in
                    column == header.count - 1 ? pair.0 : pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0)
                }.joined(separator: "  ") + "\n"
                if index == 0 { out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n" }
            }
        }
        return out
    }

    /// The rankings as a Markdown/HTML document.
    public static func document(_ rankings: [(profile: WorkloadProfile, rows: [ChooseRunner.Row])], resultPath: String?) -> ReportDocument {
        var document = ReportDocument(title: "OverlayBench: choosing a storage driver")
        document.append(.paragraph("Each profile's trace ran on a fresh container layer over the same image for every variant, interleaved; "
            + "trace p50 is the median wall time of the whole trace. Copy-up cost comes from a Theil–Sen fit of first-write latency "
            + "against size; the lookup slope from a least-squares fit of a warm lookup of an absent name against depth."
            + (resultPath.map { " Raw measurements: `\($0)`." } ?? "")))
        for (profile, rows) in rankings {
            document.append(.heading(level: 2, "Profile `\(profile.name)`"))
            document.append(.paragraph("\(profile.summary); \(profile.operations.count) operations."))
            document.append(.table(header: header, rows: rows.map(cells), numeric: [0, 2, 3, 4, 5, 6, 7, 8]))
        }
        return document
    }

    static func duration(_ nanoseconds: Double) -> String {
        guard nanoseconds.isFinite else { return "–" }
        switch nanoseconds {
        case ..<1_000_000: return String(format: "%.0f µs", nanoseconds / 1_000)
        case ..<1_000_000_000: return String(format: "%.1f ms", nanoseconds / 1_000_000)
        default: return String(format: "%.2f s", nanoseconds / 1_000_000_000)
        }
    }
}
