import OverlayStatistics

/// One metric of one probe on one backend under one set of parameters, with its raw samples.
public struct Measurement: Codable, Sendable {
    /// The probe that made it: `copyup`, `copy`, `read`, `lookup`, `metadata`.
    public var probe: String
    /// The backend identifier: `kernel`, `fuse`, `plain`, `reference` (or `-` for backend-free probes).
    public var backend: String
    /// What was measured: `firstWrite`, `secondWrite`, `open`, `latency`, `throughput`, …
    public var metric: String
    /// `ns`, `GB/s`, `bytes`, …
    public var unit: String
    /// Everything that distinguishes this measurement from its siblings: `size`, `cache`, `mountOptions`, …
    public var parameters: [String: ParameterValue]
    /// Descriptive statistics of ``samples``; absent only when the measurement was skipped.
    public var summary: Summary?
    /// The raw values, in the order they were taken.
    public var samples: [Double]
    /// Outliers and other things a reader should know; never a reason to drop a sample.
    public var warnings: [String]?
    /// Set when the measurement could not be taken here, with the reason.
    public var skipped: String?
    /// A confidence interval for a derived figure (`overhead`: a bootstrap interval of the ratio
    /// of medians over every sample of both sides).
    public var interval: ConfidenceInterval?
    /// Per sample, the sampling round it was taken in (0 is the first recorded one), so that
    /// drift over a run shows; absent for values that are not sampled in rounds.
    public var rounds: [Int]?
    /// Per sample, its trial's place in its round's shuffled order (0 ran first), so that what ran
    /// just before a sample can be traced.
    public var slots: [Int]?
    /// Per sample, the repeat of the whole plan it belongs to (`--repeat N`, N > 1).
    public var repeats: [Int]?
    /// The spread of the p50 between repeats (`--repeat N`, N > 1).
    public var repeatSpread: RepeatSpread?

    public init(probe: String, backend: String, metric: String, unit: String,
                parameters: [String: ParameterValue], samples: [Double], warnings: [String]? = nil) {
        self.probe = probe
        self.backend = backend
        self.metric = metric
        self.unit = unit
        self.parameters = parameters
        self.samples = samples
        self.summary = samples.isEmpty ? nil : Summary(samples: samples)
        self.warnings = warnings
    }

    /// A measurement that could not be taken, and why.
    public static func skipped(probe: String, backend: String, metric: String, unit: String,
                               parameters: [String: ParameterValue], reason: String) -> Measurement {
        var m = Measurement(probe: probe, backend: backend, metric: metric, unit: unit, parameters: parameters, samples: [])
        m.skipped = reason
        return m
    }

    /// A key that identifies the measurement across runs: probe, backend, metric and parameters.
    public var identity: String {
        let params = parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: ",")
        return "\(probe)/\(backend)/\(metric)[\(params)]"
    }
}

/// How far a figure moves when the whole plan is run again: the p50 of each repeat, and their
/// coefficient of variation (sample standard deviation over mean).
public struct RepeatSpread: Codable, Sendable, Equatable {
    public var p50s: [Double]
    /// nil with fewer than two repeats or a zero mean.
    public var cv: Double?

    public init(p50s: [Double]) {
        self.p50s = p50s
        let n = Double(p50s.count)
        let mean = p50s.reduce(0, +) / n
        if p50s.count >= 2 && mean != 0 {
            let variance = p50s.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1)
            cv = variance.squareRoot() / abs(mean)
        }
    }

    /// The spread of `values` grouped by `repeats` (parallel arrays); nil when no repeat has a sample.
    public init?(values: [Double], repeats: [Int]) {
        var groups: [Int: [Double]] = [:]
        for (value, tag) in zip(values, repeats) { groups[tag, default: []].append(value) }
        guard !groups.isEmpty else { return nil }
        self.init(p50s: groups.keys.sorted().map { Summary(samples: groups[$0]!).p50 })
    }
}
