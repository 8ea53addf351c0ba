import Foundation
import OverlaySystem

/// Draws ``ReportPlot``s as SVG and PNG by running gnuplot on a data file and a script written
/// to a temporary directory.
public struct GnuplotPlotter: Sendable {
    public enum PlotError: Error, CustomStringConvertible, Sendable {
        case notInstalled
        case failed(plot: String, status: Int32, stderr: String)

        public var description: String {
            switch self {
            case .notInstalled:
                "gnuplot is not installed (apt: gnuplot-nox), so no plots were drawn; the tables and models are complete"
            case .failed(let plot, let status, let stderr):
                // gnuplot echoes the offending command first; its own message is the last line.
                "gnuplot failed on \(plot) (exit \(status)): \(stderr.split(separator: "\n").last { !$0.allSatisfy(\.isWhitespace) }.map(String.init) ?? "no message")"
            }
        }
    }

    public let executable: String

    /// Eight colours that stay distinct for colour-blind readers (Okabe and Ito), then grey.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000", "#F0E442", "#999999"]

    /// Finds gnuplot on `PATH`; nil when it is not installed.
    public static func locate() -> GnuplotPlotter? {
        ChildProcess.findExecutable("gnuplot").map(GnuplotPlotter.init(executable:))
    }

    public init(executable: String) { self.executable = executable }

    /// Writes `<directory>/<plot.name>.svg` and `.png`; returns the SVG's text.
    @discardableResult
    public func draw(_ plot: ReportPlot, into directory: String) throws -> String {
        try FileSystem.makeDirectory(directory)
        // The data and script live beside the plots, in a directory of our own that is removed
        // afterwards (file names in it are ours, never a shared /tmp name).
        let scratch = try FileSystem.makeTemporaryDirectory(in: directory, prefix: ".gnuplot-")
        defer {
            try? FileSystem.removeFile(scratch + "/data.dat")
            try? FileSystem.removeFile(scratch + "/plot.gp")
            try? FileDescriptor.currentWorkingDirectory.unlink(scratch, directory: true)
        }

        let dataPath = scratch + "/data.dat"
        let scriptPath = scratch + "/plot.gp"
        let svgPath = directory + "/" + plot.name + ".svg"
        let pngPath = directory + "/" + plot.name + ".png"
        try FileSystem.writeAtomically(Array(Self.data(plot).utf8), to: dataPath, replacing: true)
        try FileSystem.writeAtomically(Array(Self.script(plot, data: dataPath, svg: svgPath, png: pngPath).utf8), to: scriptPath, replacing: true)

        let outcome = try ChildProcess.run(executable, [scriptPath], timeout: 120)
        guard outcome.exit.succeeded else {
            let status: Int32 = if case .exited(let code) = outcome.exit { code } else { -1 }
            throw PlotError.failed(plot: plot.name, status: status, stderr: outcome.timedOut ? "timed out" : outcome.standardError)
        }
        return try FileSystem.readText(svgPath)
    }

    /// One gnuplot data block per series (`index i`), columns x, y, low, high.
    static func data(_ plot: ReportPlot) -> String {
        plot.series.map { series in
            "# \(series.title)\n" + series.points.map { "\($0.x) \($0.y) \($0.low) \($0.high)" }.joined(separator: "\n")
        }.joined(separator: "\n\n\n") + "\n"
    }

    static func script(_ plot: ReportPlot, data: String, svg: String, png: String) -> String {
        var lines = [
            "set encoding utf8",
            "set terminal svg size 900,560 dynamic font 'sans,12' background rgb 'white'",
            "set output \(quote(svg))",
            "set title \(quote(plot.title)) noenhanced",
            "set xlabel \(quote(plot.xLabel)) noenhanced",
            "set ylabel \(quote(plot.yLabel)) noenhanced",
            "set grid xtics ytics mxtics mytics lc rgb '#dddddd'",
            "set key outside right top noenhanced",
        ]
        // The caption (conditions and caveats) is wrapped onto as many lines as it needs below
        // the x axis; the bottom margin grows with it.
        let captionLines = TextWrap.lines(plot.caption, width: 150)
        lines.append("set bmargin \(4 + (3 * captionLines.count + 1) / 2)")
        for (index, line) in captionLines.enumerated() {
            let y = 0.015 + 0.028 * Double(captionLines.count - 1 - index)
            lines.append("set label \(index + 1) \(quote(line)) at screen 0.01, screen \(y) left font 'sans,9' noenhanced")
        }
        if plot.logX { lines.append("set logscale x") }
        if plot.logY {
            lines.append("set logscale y")
            lines.append("set format y '%g'")
        }
        if !plot.xTics.isEmpty {
            lines.append("set xtics (" + plot.xTics.map { "\(quote($0.0)) \($0.1)" }.joined(separator: ", ") + ")")
        }
        if !plot.yTics.isEmpty {
            lines.append("set ytics (" + plot.yTics.map { "\(quote($0.0)) \($0.1)" }.joined(separator: ", ") + ")")
        }
        if let range = plot.yRange { lines.append("set yrange [\(range.lowerBound):\(range.upperBound)]") }
        let commands = plot.series.enumerated().map { index, series in
            let source = "\(quote(data)) index \(index)"
            // Line colour and dashes belong to the style, before the title.
            var look = ""
            if let color = series.color { look += "lc rgb '\(Self.palette[color % Self.palette.count])' " }
            if let dash = series.dash, series.style != .reference { look += "dt \(dash) " }
            let title = look + "title \(quote(series.title))"
            switch series.style {
            case .errorLines: return "\(source) using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.7 \(title)"
            case .lines: return "\(source) using 1:2 with linespoints lw 2 pt 7 ps 0.7 \(title)"
            case .reference: return "\(source) using 1:2 with lines dt \(series.dash ?? 2) lw 2 lc rgb 'black' \(title)"
            case .steps: return "\(source) using 1:2 with steps lw 2 \(title)"
            }
        }
        lines.append("plot " + commands.joined(separator: ", \\\n     "))
        lines.append("set terminal pngcairo size 1100,680 font 'sans,11' background rgb 'white'")
        lines.append("set output \(quote(png))")
        lines.append("replot")
        lines.append("unset output")
        return lines.joined(separator: "\n") + "\n"
    }

    /// A gnuplot single-quoted string: only `'` needs escaping, by doubling.
    static func quote(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }
}
