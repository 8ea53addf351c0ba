import ArgumentParser
import Foundation
import OverlaySuite

extension Exporters.Format: ExpressibleByArgument {}

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a result file as CSV, Bencher Metric Format JSON or OpenMetrics text.",
        discussion: """
            csv: one row per measurement, one column per parameter, then n, min, p50, p90, p99, \
            max, mean, stddev. bmf: {identity: {latency|throughput: {value: p50, lower_value: p10, \
            upper_value: p90}}}. openmetrics: overlaybench_<metric>_<unit> gauges labelled with the \
            probe, backend, parameters and quantile, ending in # EOF.
            """)

    @Argument(help: "The result file.")
    var result: String

    @Option(name: .long, help: "csv, bmf or openmetrics.")
    var format: Exporters.Format

    @Option(name: .long, help: "Write here (atomically) instead of stdout; the directory must exist.")
    var out: String?

    func run() throws {
        let text = try Exporters.export(try ResultFile.load(result), as: format)
        if let out {
            try AtomicFile.write(text, to: out, overwrite: true)
        } else {
            print(text, terminator: "")
        }
    }
}
