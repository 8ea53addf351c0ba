import ArgumentParser
import Foundation
import OverlaySuite

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Write a report across hosts: each metric's p50, one column per result file.",
        discussion: "Writes DIR/report.md and DIR/report.html, with a table of the hosts first.")

    @Argument(help: "Result files, typically one per host.")
    var results: [String]

    @Option(name: .long, help: "The directory to write report.md and report.html into (made if missing; its parent must exist).")
    var out: String

    func validate() throws {
        if results.count < 2 { throw ValidationError("give at least two result files to merge") }
    }

    func run() throws {
        let inputs = try results.map { ReportWriter.Input(path: $0, result: try ResultFile.load($0)) }
        for path in try MergeReport(inputs: inputs).write(to: out) { print("wrote \(path)") }
    }
}
