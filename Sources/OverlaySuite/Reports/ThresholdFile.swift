import Foundation
import OverlayCore
import Yams

/// The smallest change that counts, per metric, as `compare --thresholds FILE` reads it:
///
/// ```yaml
/// units:                 # defaults by unit (ns, GB/s, bytes, inodes, …)
///   ns: 10%
/// metrics:               # the first entry that matches a measurement wins
///   - probe: copyup
///     metric: firstWrite
///     parameters: {size: 4KiB, cache: warm}   # optional; every one given must match
///     threshold: 20%
/// ```
///
/// Thresholds are fractions in [0, 1), written `10%` or `0.1`.
public struct ThresholdFile: Sendable {
    public struct Rule: Sendable {
        public var probe: String?
        public var metric: String?
        public var backend: String?
        /// Parameter values as text, sizes in bytes (`4KiB` is stored as `4096`).
        public var parameters: [String: String]
        public var threshold: Double
    }

    public var units: [String: Double]
    public var rules: [Rule]

    public init(units: [String: Double] = [:], rules: [Rule] = []) {
        self.units = units
        self.rules = rules
    }

    /// Built-in defaults. A latency or a rate on a shared VM moves by several percent between
    /// runs even with a measured allowance, so 10% is the smallest change worth a nightly alert;
    /// a counter (bytes, inodes) is deterministic for one configuration, so 1% of it is real.
    public static func builtInDefault(unit: String) -> Double {
        switch unit {
        case "bytes", "inodes", "operations": 0.01
        default: 0.10
        }
    }

    /// The threshold of the first rule that matches `measurement`.
    public func specific(for measurement: Measurement) -> Double? {
        rules.first { rule in
            (rule.probe == nil || rule.probe == measurement.probe)
                && (rule.metric == nil || rule.metric == measurement.metric)
                && (rule.backend == nil || rule.backend == measurement.backend)
                && rule.parameters.allSatisfy { name, value in measurement.parameters[name]?.description == value }
        }?.threshold
    }

    public func unitDefault(for unit: String) -> Double? { units[unit] }

    /// `10%` → 0.1, `0.1` → 0.1; nil unless it lies in [0, 1).
    public static func fraction(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value = trimmed.hasSuffix("%") ? Double(trimmed.dropLast()).map { $0 / 100 } : Double(trimmed)
        guard let value, value >= 0, value < 1 else { return nil }
        return value
    }

    /// Reads and strictly decodes a thresholds file; errors name the line and the key.
    public static func load(_ path: String) throws -> ThresholdFile {
        try parse(try InputFile.readText(path, kind: "thresholds file"), file: path)
    }

    public static func parse(_ text: String, file: String = "thresholds") throws(SuiteFileError) -> ThresholdFile {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw SuiteFileError(file: file, line: 0, key: "(yaml)", reason: "not valid YAML")
        }
        guard let node else { throw SuiteFileError(file: file, line: 1, key: "(document)", reason: "is empty (only comments or blank lines)") }
        let reader = StrictReader(file: file)
        let top = try reader.mapping(node, key: "(document)", allowed: ["units", "metrics"])
        var result = ThresholdFile()
        func threshold(_ located: StrictReader.Located, key: String) throws(SuiteFileError) -> Double {
            try reader.threshold(located, key: key)
        }
        if let units = top["units"] {
            guard case .mapping(let mapping) = units.value else {
                throw SuiteFileError(file: file, line: units.line, key: "units", reason: "must be a mapping of unit to threshold")
            }
            for (keyNode, value) in mapping {
                let unit = try reader.string(keyNode, key: "units")
                result.units[unit] = try threshold(.init(value: value, line: keyNode.mark?.line ?? units.line), key: "units.\(unit)")
            }
        }
        if let metrics = top["metrics"] {
            for item in try reader.sequence(metrics.value, key: "metrics") {
                let fields = try reader.mapping(item, key: "metrics", allowed: ["probe", "metric", "backend", "parameters", "threshold"])
                guard let value = fields["threshold"] else {
                    throw SuiteFileError(file: file, line: item.mark?.line ?? metrics.line, key: "threshold", reason: "is missing from a metrics entry")
                }
                var rule = Rule(probe: nil, metric: nil, backend: nil, parameters: [:], threshold: try threshold(value, key: "threshold"))
                if let field = fields["probe"] { rule.probe = try reader.string(field.value, key: "probe") }
                if let field = fields["metric"] { rule.metric = try reader.string(field.value, key: "metric") }
                if let field = fields["backend"] { rule.backend = try reader.string(field.value, key: "backend") }
                if let field = fields["parameters"] {
                    guard case .mapping(let mapping) = field.value else {
                        throw SuiteFileError(file: file, line: field.line, key: "parameters", reason: "must be a mapping of parameter to value")
                    }
                    for (keyNode, valueNode) in mapping {
                        let name = try reader.string(keyNode, key: "parameters")
                        let text = try reader.string(valueNode, key: "parameters.\(name)")
                        // Sizes are recorded in bytes; let the file say 4KiB.
                        if name == "size", let bytes = try? ByteCount.parse(text) { rule.parameters[name] = String(bytes) } else { rule.parameters[name] = text }
                    }
                }
                result.rules.append(rule)
            }
        }
        return result
    }
}
