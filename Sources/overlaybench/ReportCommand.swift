import ArgumentParser
import Foundation
import OverlaySuite

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a Markdown and HTML report, with plots, from result files.",
        discussion: """
            Writes DIR/report.md and DIR/report.html (self-contained: the SVG plots are inline), \
            with the environment, a table per probe (p50 with its bootstrap 95% CI, p90, p99, n, \
            warnings), the copy-up and lookup cost models with citable sentences, and the plots. \
            The plots are drawn by gnuplot as SVG and PNG into the plots directory; without \
            gnuplot the report says so and still carries the tables and models.
            """)

    @Argument(help: "Result files (overlaybench.result/1).")
    var results: [String]

    @Option(name: .long, help: "The directory to write report.md and report.html into (made if missing; its parent must exist).")
    var out: String = "report"

    @Option(name: .long, help: "Where the SVG and PNG plots go; relative paths are inside --out.")
    var plots: String = "plots"

    @Option(name: .long, help: ArgumentHelp(
        "Lower-file sizes to predict a first write for from each copy-up model, e.g. 2GiB,10GiB.",
        discussion: "A size beyond twice the largest one measured is labelled as extrapolated."))
    var predict: String = ""

    func validate() throws {
        if results.isEmpty { throw ValidationError("give at least one result file") }
        _ = try OptionValues.sizes(predict, "--predict", minimum: 1)
    }

    func run() throws {
        let inputs = try results.map { ReportWriter.Input(path: $0, result: try ResultFile.load($0)) }
        let plotter = GnuplotPlotter.locate()
        if plotter == nil {
            FileHandle.standardError.write(Data("overlaybench: warning: \(GnuplotPlotter.PlotError.notInstalled)\n".utf8))
        }
        let sizes = try OptionValues.sizes(predict, "--predict", minimum: 1)
        let outcome = try ReportWriter(inputs: inputs, options: .init(outDirectory: out, plotsDirectory: plots, plotter: plotter, predict: sizes)).write()
        for note in outcome.notes { FileHandle.standardError.write(Data("overlaybench: note: \(note)\n".utf8)) }
        print("wrote \(outcome.markdownPath)")
        print("wrote \(outcome.htmlPath)")
        for file in outcome.plotFiles { print("wrote \(file)") }
    }
}
