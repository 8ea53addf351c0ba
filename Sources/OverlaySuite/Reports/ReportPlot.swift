import Foundation

/// One plot of a report, independent of how it is drawn: axes, series and a caption.
public struct ReportPlot: Sendable {
    /// Tics at every power of ten from below the smallest to above the largest of `values`
    /// (microseconds), labelled in human units (`1 µs`, `10 ms`, `1 s`): a log axis of latencies
    /// then reads without exponents.
    public static func latencyTics(microseconds values: [Double]) -> [(String, Double)] {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard let low = positive.min(), let high = positive.max() else { return [] }
        var decade = Foundation.pow(10, (Foundation.log10(low)).rounded(.down))
        var tics: [(String, Double)] = []
        while decade <= high * 10 && tics.count < 16 {
            tics.append((HumanUnits.duration(nanoseconds: decade * 1_000).replacingOccurrences(of: ".00", with: "").replacingOccurrences(of: ".0", with: ""), decade))
            if decade > high { break }
            decade *= 10
        }
        return tics
    }

    public enum Style: String, Sendable {
        /// Points joined by lines, with vertical error bars from `low` to `high`.
        case errorLines
        /// Points joined by lines.
        case lines
        /// A dashed reference line, such as the memcpy ceiling.
        case reference
        /// A staircase, for empirical CDFs.
        case steps
    }

    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        public var low: Double
        public var high: Double

        public init(x: Double, y: Double, low: Double? = nil, high: Double? = nil) {
            self.x = x
            self.y = y
            self.low = low ?? y
            self.high = high ?? y
        }
    }

    public struct Series: Sendable {
        public var title: String
        public var style: Style
        public var points: [Point]
        /// An index into the plotter's palette; nil lets the plotter choose by position.
        public var color: Int?
        /// A dash pattern (1 is solid); two dimensions of a plot can then be told apart, e.g.
        /// colour for the position and dashes for the backend.
        public var dash: Int?

        public init(title: String, style: Style, points: [Point], color: Int? = nil, dash: Int? = nil) {
            self.title = title
            self.style = style
            self.points = points
            self.color = color
            self.dash = dash
        }
    }

    /// The file name without extension, e.g. `copyup-latency`.
    public var name: String
    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX: Bool
    public var logY: Bool
    /// Explicit x tics (label, value), e.g. sizes as `4KiB`; empty for gnuplot's own.
    public var xTics: [(String, Double)]
    /// Explicit y tics, e.g. latencies as `1 ms`; empty for gnuplot's own.
    public var yTics: [(String, Double)]
    public var yRange: ClosedRange<Double>?
    public var series: [Series]
    /// The kernel, backing filesystem and mount options the data came from.
    public var caption: String

    public init(name: String, title: String, xLabel: String, yLabel: String, logX: Bool = false, logY: Bool = false,
                xTics: [(String, Double)] = [], yTics: [(String, Double)] = [], yRange: ClosedRange<Double>? = nil,
                series: [Series], caption: String) {
        self.name = name
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.logY = logY
        self.xTics = xTics
        self.yTics = yTics
        self.yRange = yRange
        self.series = series
        self.caption = caption
    }
}
