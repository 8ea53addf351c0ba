import ArgumentParser
import Foundation
import OverlaySuite
import OverlaySystem

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare a current result file with a baseline: did anything regress?",
        discussion: """
            Pairs measurements by probe, backend, metric and configuration. For each metric the             ratio of medians is oriented so that above 1 is worse (current/baseline for times and             sizes, baseline/current for GB/s and other rates), and its 95% bootstrap interval is             widened by the run-to-run allowance that the runs measured with --repeat. A metric is             a regression when the whole interval lies above 1 + threshold, an improvement when it             lies below 1 − threshold, unchanged when it lies inside ±threshold, and inconclusive             otherwise (the output says how many samples would settle it). The metrics that cleared             their threshold are judged again at the level that controls the false coverage rate.

            Thresholds: --thresholds FILE (YAML: `units:` and `metrics:` with probe, metric,             backend, parameters, threshold), then --threshold, then the defaults (10% for times             and rates, 1% for byte and inode counts).

            Cannot judge (exit 2): a current run that is empty, incomplete, of another schema, or             lacks measurements the baseline has (unless --allow-missing). Refuses when the             environments differ in what the figures depend on (kernel release, overlay module             parameters, effective mount options without the layer paths, backing filesystem type             and options, the sizes) and says what differs; --force compares anyway. A different             kernel build, CPU model or host name is a warning.

            Exit codes (not the other commands' codes): 0 nothing regressed; 1 at least one             regression (with --strict, an inconclusive metric too); 2 an error, a run that cannot             be judged, or environments that differ without --force. Arguments ArgumentParser             itself rejects exit 64 as for every command.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case markdown
        case json
    }

    @Argument(help: "BASELINE CURRENT, or only CURRENT with --baseline NAME.")
    var files: [String] = []

    @Option(name: .long, help: "Compare against the saved baseline NAME (see `overlaybench baseline`).")
    var baseline: String?

    @Option(name: .long, help: "The baselines directory for --baseline.")
    var baselines: String = BaselineStore.defaultDirectory

    @Option(name: .long, help: "The smallest change that counts for every metric without its own, e.g. 5% or 0.05.")
    var threshold: String?

    @Option(name: .long, help: "A YAML file of thresholds by unit and by probe, metric and parameters.")
    var thresholds: String?

    @Option(name: .long, help: "markdown or json.")
    var format: OutputFormat = .markdown

    @Flag(name: .long, help: "Compare even when the environments differ.")
    var force = false

    @Flag(name: .customLong("allow-missing"), help: "Judge a current run that lacks some of the baseline's measurements.")
    var allowMissing = false

    @Flag(name: .long, help: "Count inconclusive metrics as regressions (exit 1).")
    var strict = false

    static let errorExit: Int32 = 2

    func validate() throws {
        if baseline == nil && files.count != 2 { throw ValidationError("give BASELINE and CURRENT result files, or --baseline NAME and CURRENT") }
        if baseline != nil && files.count != 1 { throw ValidationError("with --baseline NAME give only the CURRENT result file") }
        if let threshold, ThresholdFile.fraction(threshold) == nil {
            throw ValidationError("--threshold must be a percentage in [0%, 100%) such as 5% (got \(threshold))")
        }
    }

    func run() throws {
        do {
            let store = BaselineStore(directory: baselines)
            let baselinePath = baseline.map(store.path(of:)) ?? files[0]
            let baselineFile = try baseline.map(store.load) ?? ResultFile.load(files[0])
            let currentPath = files[files.count - 1]
            var options = Comparison.Options(threshold: threshold.flatMap(ThresholdFile.fraction),
                                             force: force, allowMissing: allowMissing, strict: strict)
            if let thresholds { options.thresholds = try ThresholdFile.load(thresholds) }
            let comparison = Comparison.compare(
                baseline: baselineFile, current: try ResultFile.load(currentPath),
                baselinePath: baselinePath, currentPath: currentPath, options: options)
            switch format {
            case .markdown: print(comparison.markdown(), terminator: "")
            case .json: print(try comparison.json(), terminator: "")
            }
            if (try? Host.realPath(baselinePath)) == (try? Host.realPath(currentPath)) {
                FileHandle.standardError.write(Data("overlaybench: warning: the baseline and the current file are the same file\n".utf8))
            }
            if let reason = comparison.cannotJudge {
                FileHandle.standardError.write(Data("overlaybench: error: cannot judge \(currentPath): \(reason)\n".utf8))
            } else if comparison.refused {
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
