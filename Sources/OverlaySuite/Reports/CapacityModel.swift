import Foundation
import OverlayCore
import OverlayStatistics

/// Straight-line cost models fitted to a run, for sentences a capacity planner can cite.
///
/// - Copy-up: first-write latency against file size, per (backend, mount options, cache,
///   backing filesystem), fitted by Theil–Sen on every raw sample (x in MiB, y in µs), so a
///   stalled sample does not tilt the line. The intercept is the fixed cost of a copy-up, the
///   slope the cost of each MiB.
/// - Lookup: latency against layer depth, per (backend, metric, position, cache), fitted by least
///   squares on every raw sample (x in layers, y in ns): the cost of each extra layer.
public struct CapacityModel: Sendable, Encodable {
    /// The copy-up cost line of one configuration.
    public struct CopyUpCost: Sendable, Encodable {
        public var backend: String
        public var mountOptions: String
        public var cache: String
        public var fs: String
        /// y = fixed µs + per-MiB µs · size in MiB.
        public var fit: LinearFit
        public var sizes: [Int64]

        /// The fixed cost of a copy-up, µs.
        public var fixedMicroseconds: Double { fit.intercept }
        /// The cost of each MiB copied up, µs.
        public var microsecondsPerMiB: Double { fit.slope }
        /// The slope as a bandwidth: MB (10⁶ bytes) per second, nil when the slope is not positive.
        public var megabytesPerSecond: Double? { fit.slope > 0 ? Double(1 << 20) / fit.slope : nil }

        /// The predicted first-write latency for a `bytes`-byte lower file, µs, with an interval
        /// combining the ends of the slope and intercept intervals (conservative: they are not
        /// independent, so the true joint interval is narrower).
        public func predict(bytes: Int64) -> (microseconds: Double, ci: ConfidenceInterval) {
            let mebibytes = Double(bytes) / Double(1 << 20)
            let low = fit.interceptCI.lower + fit.slopeCI.lower * mebibytes
            let high = fit.interceptCI.upper + fit.slopeCI.upper * mebibytes
            return (fit.predict(mebibytes), ConfidenceInterval(lower: min(low, high), upper: max(low, high), level: fit.slopeCI.level))
        }

        /// `backend kernel, options defaults, warm cache, fs root`.
        public var label: String {
            "\(backend), options \(mountOptions.isEmpty ? "defaults" : mountOptions), \(cache) cache, fs \(fs)"
        }
    }

    /// The per-layer cost of a lookup in one configuration.
    public struct LookupCost: Sendable, Encodable {
        public var backend: String
        public var metric: String
        public var position: String
        public var cache: String
        /// y (ns) = base + per-layer ns · depth.
        public var fit: LinearFit
        public var depths: [Int64]

        public var label: String { "\(backend) \(metric), \(position.isEmpty ? "" : "position \(position), ")\(cache) cache" }
    }

    public var copyUp: [CopyUpCost]
    public var lookup: [LookupCost]
    /// Configurations that could not be fitted, and why.
    public var notes: [String]

    /// The size the headline sentence predicts for: a 2 GiB lower file (a large image layer).
    public static let headlineBytes: Int64 = 2 << 30

    public init(measurements: [Measurement]) {
        copyUp = []
        lookup = []
        notes = []
        fitCopyUp(measurements.filter { $0.probe == "copyup" && $0.metric == "firstWrite" && $0.hasSamples })
        fitLookup(measurements.filter { $0.probe == "lookup" && $0.hasSamples && $0.parameters["depth"]?.intValue != nil })
    }

    private mutating func fitCopyUp(_ measurements: [Measurement]) {
        let groups = Dictionary(grouping: measurements) {
            [$0.backend, $0.text("mountOptions"), $0.text("cache"), $0.text("fs")]
        }
        for key in groups.keys.sorted(by: { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }) {
            var x: [Double] = []
            var y: [Double] = []
            for m in groups[key]! {
                guard let size = m.sizeBytes else { continue }
                x += Array(repeating: Double(size) / Double(1 << 20), count: m.samples.count)
                y += m.samples.map { $0 / 1_000 }
            }
            let sizes = Set(x).count
            let label = "copy-up \(key[0]), options \(key[1].isEmpty ? "defaults" : key[1]), \(key[2]) cache, fs \(key[3])"
            guard sizes >= 2 else {
                notes.append("\(label): one size only, so there is no line to fit")
                continue
            }
            let fit = TheilSen.fit(x: x, y: y, resamples: Self.bootstrapResamples(points: x.count))
            copyUp.append(CopyUpCost(
                backend: key[0], mountOptions: key[1], cache: key[2], fs: key[3], fit: fit,
                sizes: groups[key]!.compactMap(\.sizeBytes).sorted()))
        }
    }

    private mutating func fitLookup(_ measurements: [Measurement]) {
        let groups = Dictionary(grouping: measurements) { [$0.backend, $0.metric, $0.text("position"), $0.text("cache")] }
        for key in groups.keys.sorted(by: { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }) {
            var x: [Double] = []
            var y: [Double] = []
            for m in groups[key]! {
                guard let depth = m.parameters["depth"]?.intValue else { continue }
                x += Array(repeating: Double(depth), count: m.samples.count)
                y += m.samples
            }
            let label = "lookup \(key[0]) \(key[1]), position \(key[2]), \(key[3]) cache"
            guard Set(x).count >= 2, x.count >= 3 else {
                notes.append("\(label): needs at least two depths and three samples to fit")
                continue
            }
            lookup.append(LookupCost(
                backend: key[0], metric: key[1], position: key[2], cache: key[3],
                fit: LeastSquares.fit(x: x, y: y),
                depths: Array(Set(groups[key]!.compactMap { $0.parameters["depth"]?.intValue })).sorted()))
        }
    }

    /// Theil–Sen's intercept interval refits all n(n−1)/2 slopes per resample; keep the total
    /// near 50 million slope evaluations, and never below 200 resamples.
    static func bootstrapResamples(points: Int) -> Int {
        let pairs = max(1, points * (points - 1) / 2)
        return min(1000, max(200, 50_000_000 / pairs))
    }

    // MARK: - Sentences

    /// Citable sentences, one per fitted configuration.
    public func sentences(host: String) -> [String] {
        var result: [String] = []
        for cost in copyUp {
            let (predicted, ci) = cost.predict(bytes: Self.headlineBytes)
            let bandwidth = cost.megabytesPerSecond.map { String(format: " (≈ %.0f MB/s)", $0) } ?? ""
            result.append(
                "On \(host), \(cost.label): a first write to a \(ByteCount.format(Self.headlineBytes)) lower file costs "
                + "≈ \(Self.seconds(predicted)) (\(Int(ci.level * 100))% CI \(Self.seconds(ci.lower))–\(Self.seconds(ci.upper))): "
                + String(format: "a fixed %.0f µs (CI %.0f–%.0f) plus %.0f µs per MiB (CI %.0f–%.0f)",
                          cost.fixedMicroseconds, cost.fit.interceptCI.lower, cost.fit.interceptCI.upper,
                          cost.microsecondsPerMiB, cost.fit.slopeCI.lower, cost.fit.slopeCI.upper)
                + "\(bandwidth); Theil–Sen over \(cost.fit.n) samples, R² = \(String(format: "%.3f", cost.fit.rSquared)).")
        }
        for cost in lookup {
            result.append(
                "On \(host), \(cost.label): each extra layer adds "
                + String(format: "%.1f ns (%.0f%% CI %.1f–%.1f) to a lookup; base %.0f ns; least squares over %d samples, R² = %.3f.",
                         cost.fit.slope, cost.fit.slopeCI.level * 100, cost.fit.slopeCI.lower, cost.fit.slopeCI.upper,
                         cost.fit.intercept, cost.fit.n, cost.fit.rSquared))
        }
        return result
    }

    /// `812 µs`, `3.2 ms`, `6.14 s`.
    static func seconds(_ microseconds: Double) -> String {
        switch abs(microseconds) {
        case ..<1_000: String(format: "%.0f µs", microseconds)
        case ..<1_000_000: String(format: "%.1f ms", microseconds / 1_000)
        default: String(format: "%.2f s", microseconds / 1_000_000)
        }
    }
}
