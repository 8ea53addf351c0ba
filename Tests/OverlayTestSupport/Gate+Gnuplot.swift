import Foundation

extension Gate {
    /// gnuplot on `PATH`, which `overlaybench report` runs to draw its SVG and PNG plots.
    public static let gnuplot = Gate("gnuplot", reason: "report plots are drawn by the gnuplot binary (apt: gnuplot-nox)") {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/gnuplot") }
    }
}
