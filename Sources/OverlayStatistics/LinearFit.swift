/// A fitted straight line y = intercept + slope·x with confidence intervals, as result files
/// record it (for instance nanoseconds per lower layer).
public struct LinearFit: Codable, Sendable, Equatable {
    /// The fitted y at x = 0.
    public var intercept: Double
    /// The fitted change in y per unit of x.
    public var slope: Double
    /// A confidence interval for the slope.
    public var slopeCI: ConfidenceInterval
    /// A confidence interval for the intercept.
    public var interceptCI: ConfidenceInterval
    /// 1 − SSres/SStot of this line on the data it was fitted to. Negative when the line fits
    /// worse than the horizontal line through the mean, which a robust fit can; 1 for data on the line.
    public var rSquared: Double
    /// The number of (x, y) points fitted.
    public var n: Int
    /// The fitting method's stable identifier: ``TheilSen/identifier`` or ``LeastSquares/identifier``.
    public var method: String

    /// A fit with every field given.
    public init(
        intercept: Double, slope: Double, slopeCI: ConfidenceInterval, interceptCI: ConfidenceInterval,
        rSquared: Double, n: Int, method: String
    ) {
        self.intercept = intercept
        self.slope = slope
        self.slopeCI = slopeCI
        self.interceptCI = interceptCI
        self.rSquared = rSquared
        self.n = n
        self.method = method
    }

    /// The line's value at `x`.
    public func predict(_ x: Double) -> Double { intercept + slope * x }

    /// The coefficient of determination of the line (`intercept`, `slope`) on the points.
    ///
    /// Constant y has no variance to explain; the line through it, which both fits find, counts
    /// as a perfect fit rather than 0/0.
    static func rSquared(x: [Double], y: [Double], intercept: Double, slope: Double) -> Double {
        let mean = y.reduce(0, +) / Double(y.count)
        var residual = 0.0
        var total = 0.0
        for (xi, yi) in zip(x, y) {
            let error = yi - (intercept + slope * xi)
            residual += error * error
            total += (yi - mean) * (yi - mean)
        }
        guard total > 0 else { return 1 }
        return 1 - residual / total
    }

    /// Traps unless `x` and `y` pair up, are finite, and hold at least two distinct x values.
    static func validate(x: [Double], y: [Double], minimumCount: Int) {
        precondition(x.count == y.count, "x and y must have the same count")
        precondition(x.count >= minimumCount, "a line fit needs at least \(minimumCount) points")
        precondition(x.allSatisfy(\.isFinite) && y.allSatisfy(\.isFinite), "fit points must be finite")
        precondition(x.contains { $0 != x[0] }, "a line fit needs at least two distinct x values")
    }
}
