import ArgumentParser
import Foundation
import OverlaySuite

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a current result file with a baseline: did anything regress?",
        discussion: """
            Pairs measurements by probe, backend, metric and parameters. A metric changed only when \
            the Mann–Whitney p-value is below 0.05 and the 95% bootstrap interval of the ratio of \
            medians (current/baseline), widened by an allowance for run-to-run drift as large as \
            each run's own spread, lies entirely beyond the threshold. For GB/s, MB/s and ops/s a \
            higher value is better, so the direction flips.

            Refuses when the environments differ (kernel, effective overlay mount options without \
            the layer paths, backing filesystem type or options, or the set of sizes) and says what \
            differs; --force compares anyway.

            Exit codes (not the other commands' codes): 0 nothing regressed; 1 at least one \
            regression; 2 an error (an unreadable file, a bad --threshold) or environments that \
            differ without --force. Arguments ArgumentParser itself rejects (a missing file name, an \
            unknown option) exit 64 as for every command.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case markdown
        case json
    }

    @Argument(help: "The baseline result file.")
    var baseline: String

    @Argument(help: "The current result file.")
    var current: String

    @Option(name: .long, help: "The smallest change that counts, e.g. 5% or 0.05.")
    var threshold: String = "5%"

    @Option(name: .long, help: "markdown or json.")
    var format: OutputFormat = .markdown

    @Flag(name: .long, help: "Compare even when the environments differ.")
    var force = false

    static let errorExit: Int32 = 2

    /// `5%` → 0.05, `0.05` → 0.05.
    static func parseThreshold(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("%") { return Double(trimmed.dropLast()).map { $0 / 100 } }
        return Double(trimmed)
    }

    func run() throws {
        do {
            guard let fraction = Self.parseThreshold(threshold), fraction >= 0, fraction < 1 else {
                throw ValidationError("--threshold must be a percentage in [0%, 100%) such as 5% (got \(threshold))")
            }
            let comparison = Comparison.compare(
                baseline: try ResultFile.load(baseline), current: try ResultFile.load(current),
                baselinePath: baseline, currentPath: current, options: .init(threshold: fraction, force: force))
            switch format {
            case .markdown: print(comparison.markdown(), terminator: "")
            case .json: print(try comparison.json(), terminator: "")
            }
            if comparison.refused {
                FileHandle.standardError.write(Data("overlaybench: error: the environments differ (\(comparison.differences.map(\.what).joined(separator: "; "))); pass --force to compare anyway\n".utf8))
            }
            if comparison.exitStatus != 0 { throw ExitCode(comparison.exitStatus) }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            ExitStatus.fail(ExitStatus.message(for: error), code: Self.errorExit)
        }
    }
}
