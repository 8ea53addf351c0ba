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
