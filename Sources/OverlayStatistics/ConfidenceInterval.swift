/// A two-sided confidence interval for one estimate, as result files record it.
public struct ConfidenceInterval: Codable, Sendable, Equatable {
    /// The lower bound.
    public var lower: Double
    /// The upper bound.
    public var upper: Double
    /// The nominal coverage, a fraction such as 0.95.
    public var level: Double

    /// An interval from `lower` to `upper` that covers the true value with probability `level`.
    public init(lower: Double, upper: Double, level: Double) {
        precondition(lower <= upper, "a confidence interval's lower bound must not exceed its upper bound")
        precondition(level > 0 && level < 1, "a confidence level is a fraction strictly between 0 and 1")
        self.lower = lower
        self.upper = upper
        self.level = level
    }

    /// Half the interval's width: the "±" of "estimate ± error".
    public var halfWidth: Double { (upper - lower) / 2 }

    /// Whether `value` lies inside the interval, bounds included.
    public func contains(_ value: Double) -> Bool { lower <= value && value <= upper }

    /// The half-width as a fraction of `center`, e.g. 0.02 for "±2 % of the median".
    ///
    /// A zero-width interval is 0 whatever the center, so constant data counts as perfectly
    /// precise; a nonzero width around a zero center is infinitely imprecise.
    public func halfWidthRelative(to center: Double) -> Double {
        let halfWidth = halfWidth
        if halfWidth == 0 { return 0 }
        if center == 0 { return .infinity }
        return halfWidth / abs(center)
    }
}
