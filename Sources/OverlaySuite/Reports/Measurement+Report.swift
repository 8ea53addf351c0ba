import OverlayCore
import OverlayStatistics

/// What reports, comparisons and exporters read off a measurement beyond its summary.
extension Measurement {
    /// Units where a larger value is better; every other unit (ns, bytes, …) is a cost.
    public static let higherIsBetterUnits: Set<String> = ["GB/s", "MB/s", "MiB/s", "GiB/s", "ops/s", "IOPS"]

    /// True for throughputs and rates: a ratio above 1 is then an improvement, not a regression.
    public var higherIsBetter: Bool { Self.higherIsBetterUnits.contains(unit) }

    /// True when there is something to summarise: not skipped and at least one sample.
    public var hasSamples: Bool { skipped == nil && !samples.isEmpty }

    /// The `p`th percentile (0…100) of the raw samples, type 7 like ``Summary``.
    public func percentile(_ p: Double) -> Double? {
        guard hasSamples else { return nil }
        return Summary.percentile(sorted: samples.sorted(), p)
    }

    /// `parameters.size` in bytes, when the measurement has one.
    public var sizeBytes: Int64? { parameters["size"]?.intValue }

    /// A parameter as text, `""` when absent.
    public func text(_ parameter: String) -> String { parameters[parameter]?.description ?? "" }

    /// The parameter list as a reader wants it: `size=4KiB, mountOptions=defaults`.
    public var parameterLabel: String {
        Self.orderedParameterNames(parameters.keys).map { name in
            "\(name)=\(Self.format(parameter: name, parameters[name]!))"
        }.joined(separator: ", ")
    }

    /// `size` and the other well-known parameters first, the rest alphabetically.
    public static func orderedParameterNames<S: Sequence>(_ names: S) -> [String] where S.Element == String {
        let all = Set(names)
        let preferred = ["size", "engine", "depth", "position", "cache", "mountOptions", "fs", "layers", "trigger"]
        return preferred.filter(all.contains) + all.subtracting(preferred).sorted()
    }

    /// Sizes in binary units and empty mount options as `defaults`.
    public static func format(parameter name: String, _ value: ParameterValue) -> String {
        if name == "size", let bytes = value.intValue { return ByteCount.format(bytes) }
        if name == "mountOptions", case .string(let s) = value, s.isEmpty { return "defaults" }
        return value.description
    }
}
