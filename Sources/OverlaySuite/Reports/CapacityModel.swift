import Foundation
import OverlayCore
import OverlayStatistics

/// Cost models fitted to a run, for sentences a capacity planner can cite. Every sentence names
/// its interval, and says when the data does not support a claim.
///
/// - Copy-up: first-write latency (a time, in ns) against file size, per configuration (every
///   parameter but the size), fitted by Theil–Sen on every raw sample (x in MiB, y in µs), so a
///   stalled sample does not tilt the line. When the line's fixed cost disagrees with what the
///   smallest size measured, the data has two regimes, and they are reported apart: a fixed
///   cost from the small sizes, and a bandwidth from the sizes of 1 MiB and more.
/// - Lookup and readdir: latency (ns) against layer depth, per (backend, metric, position,
///   cache), fitted by least squares on every raw sample: the cost of each extra layer, or
///   "no measurable per-layer cost" when the slope's interval includes zero.
///
/// Counters (bytes, inodes) are never modelled as time: only measurements whose unit is `ns`
/// enter a fit.
public struct CapacityModel: Sendable, Encodable {
    /// The copy-up cost of one configuration.
    public struct CopyUpCost: Sendable, Encodable {
        public var backend: String
        /// Every parameter of the configuration but the size (cache, fs, mountOptions, trigger, …).
        public var configuration: [String: String]
        /// y = fixed µs + per-MiB µs · size in MiB, over every size.
        public var fit: LinearFit
        public var sizes: [Int64]
        /// The median first write at the smallest size measured, µs, and its bootstrap interval
        /// (for an image: of every file below ``largeRegimeFrom``, ``smallSizes``).
        public var smallestSizeMicroseconds: Double
        public var smallestSizeCI: ConfidenceInterval
        /// The sizes that median is of: the smallest alone for a sweep, every size below
        /// ``largeRegimeFrom`` for an image's files.
        public var smallSizes: ClosedRange<Int64>
        /// Whether the line, at the smallest size, agrees with what that size measured; when it
        /// does not, one line does not describe both the small and the large files.
        public var lineFitsSmallSizes: Bool
        /// With two regimes: the bandwidth line fitted to the sizes of ``largeRegimeFrom`` and up.
        public var largeRegime: LinearFit?
        public static let largeRegimeFrom: Int64 = 1 << 20

        /// The fixed cost of a copy-up, µs (the line's intercept).
        public var fixedMicroseconds: Double { fit.intercept }
        /// The cost of each MiB copied up, µs.
        public var microsecondsPerMiB: Double { fit.slope }
        /// The slope as a bandwidth: MB (10⁶ bytes) per second, nil when the slope is not positive.
        public var megabytesPerSecond: Double? { fit.slope > 0 ? Double(1 << 20) / fit.slope : nil }
        public var largestSize: Int64 { sizes.last ?? 0 }

        /// The predicted first-write latency for a `bytes`-byte lower file, µs, from the line that
        /// describes files of that size, with an interval combining the ends of the slope and
        /// intercept intervals (conservative: they are not independent, so the true joint
        /// interval is narrower).
        public func predict(bytes: Int64) -> (microseconds: Double, ci: ConfidenceInterval) {
            predict(files: 1, bytes: bytes, sizesFrom: bytes)
        }

        /// The predicted time to first-write `files` lower files of `bytes` bytes in all, none
        /// smaller than `smallest` (which picks the regime, as for one file of that size), µs:
        /// `files` fixed costs plus the bytes over the bandwidth, with the interval from the
        /// ends of both intervals, as ``predict(bytes:)``. Linear, so it is the sum of
        /// ``predict(bytes:)`` over the files.
        public func predict(files: Int, bytes: Int64, sizesFrom smallest: Int64) -> (microseconds: Double, ci: ConfidenceInterval) {
            let line = regime(for: smallest)
            let n = Double(files), mebibytes = Double(bytes) / Double(1 << 20)
            let low = n * line.fixedCI.lower + line.perMiBCI.lower * mebibytes
            let high = n * line.fixedCI.upper + line.perMiBCI.upper * mebibytes
            return (n * line.fixed + line.perMiB * mebibytes, ConfidenceInterval(lower: min(low, high), upper: max(low, high), level: fit.slopeCI.level))
        }

        /// The model for files of `bytes` bytes. One line when it fits the small sizes (or when
        /// nothing else is known); with two regimes, the bandwidth line from ``largeRegimeFrom``
        /// up and, below it, the fixed cost the smallest size measured, as ``CapacityModel``'s
        /// sentence states them.
        func regime(for bytes: Int64) -> (fixed: Double, fixedCI: ConfidenceInterval, perMiB: Double, perMiBCI: ConfidenceInterval) {
            if !lineFitsSmallSizes, let large = largeRegime {
                if bytes >= Self.largeRegimeFrom { return (large.intercept, large.interceptCI, large.slope, large.slopeCI) }
                let none = ConfidenceInterval(lower: 0, upper: 0, level: smallestSizeCI.level)
                return (smallestSizeMicroseconds, smallestSizeCI, 0, none)
            }
            return (fit.intercept, fit.interceptCI, fit.slope, fit.slopeCI)
        }

        /// Whether the data supports the model: one line that fits the small sizes, or a fixed
        /// cost and a bandwidth fitted apart. Otherwise its predictions are inconclusive.
        public var isSupported: Bool { lineFitsSmallSizes || largeRegime != nil }

        public var mountOptions: String { configuration["mountOptions"] ?? "" }
        public var cache: String { configuration["cache"] ?? "" }
        public var fs: String { configuration["fs"] ?? "" }

        /// `kernel, cache=warm, fs=root, mountOptions=defaults`.
        public var label: String {
            ([backend] + configuration.keys.sorted().map { name in
                let value = configuration[name]!
                return "\(name)=\(value.isEmpty && name == "mountOptions" ? "defaults" : value)"
            }).joined(separator: ", ")
        }
    }

    /// The per-layer cost of a lookup or a readdir in one configuration.
    public struct LookupCost: Sendable, Encodable {
        public var backend: String
        public var metric: String
        public var position: String
        public var cache: String
        /// y (ns) = base + per-layer ns · depth.
        public var fit: LinearFit
        public var depths: [Int64]

        /// What the metric times, in words: `stat` is a lookup, `readdir` a directory read.
        public var operation: String { metric == "stat" ? "lookup" : metric }
        /// Whether the slope's interval includes zero: no per-layer cost can be claimed.
        public var slopeIsMeasurable: Bool { !fit.slopeCI.contains(0) }

        public var label: String { "\(backend) \(operation), \(position.isEmpty ? "" : "position \(position), ")\(cache) cache" }
    }

    public var copyUp: [CopyUpCost]
    public var lookup: [LookupCost]
    /// Configurations that could not be fitted, and why.
    public var notes: [String]

    /// Parameters that do not define a copy-up configuration (they vary within one).
    static let nonConfigurationParameters: Set<String> = ["size", "round", "repeat", "scope"]

    public init(measurements: [Measurement]) {
        copyUp = []
        lookup = []
        notes = []
        let timed = measurements.filter { $0.unit == "ns" && $0.hasSamples && $0.parameters["scope"] == nil }
        // An image's first writes have a size per file, not per measurement: ``ImageCopyUpModel`` fits them.
        fitCopyUp(timed.filter { $0.probe == "copyup" && $0.metric == "firstWrite" && $0.parameters["image"] == nil })
        fitLookup(timed.filter { $0.probe == "lookup" && ($0.metric == "stat" || $0.metric == "readdir")
            && $0.parameters["depth"]?.intValue != nil })
    }

    private mutating func fitCopyUp(_ measurements: [Measurement]) {
        let groups = Dictionary(grouping: measurements) { m in
            [m.backend] + m.parameters.keys.sorted().filter { !Self.nonConfigurationParameters.contains($0) }.map { "\($0)=\(m.text($0))" }
        }
        for key in groups.keys.sorted(by: { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }) {
            var bySize: [Int64: [Double]] = [:]
            for m in groups[key]! {
                guard let size = m.sizeBytes else { continue }
                bySize[size, default: []] += m.samples.map { $0 / 1_000 }
            }
            var configuration: [String: String] = [:]
            for pair in key.dropFirst() {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                configuration[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
            }
            guard let cost = Self.copyUpCost(backend: key[0], configuration: configuration, bySize: bySize) else {
                notes.append("copy-up \(key.joined(separator: ", ")): one size only, so there is no line to fit")
                continue
            }
            copyUp.append(cost)
        }
    }

    /// The copy-up model of one configuration from its first writes (µs) by lower-file size;
    /// nil with fewer than two sizes. A sweep's small files are its smallest size. With
    /// `perFile` (an image's files: a size each, most of them small), the small files are every
    /// size below ``CopyUpCost/largeRegimeFrom``, and the line must describe the larger ones
    /// too: a robust line through many small files and a few large ones follows the small ones.
    static func copyUpCost(backend: String, configuration: [String: String], bySize: [Int64: [Double]], perFile: Bool = false) -> CopyUpCost? {
        let sizes = bySize.keys.sorted()
        guard sizes.count >= 2 else { return nil }
        let fit = Self.theilSen(bySize, sizes: sizes)
        let large = sizes.filter { $0 >= CopyUpCost.largeRegimeFrom }
        let below = sizes.filter { $0 < CopyUpCost.largeRegimeFrom }
        let small = perFile && !below.isEmpty ? below : [sizes[0]]
        let smallest = small.flatMap { bySize[$0]! }
        let smallestCI = Bootstrap.medianCI(smallest)
        let smallestMedian = Summary.percentile(sorted: smallest.sorted(), 50)
        let fits = Self.describes(fit, small, bySize, median: smallestMedian, ci: smallestCI)
            && (!perFile || large.isEmpty || large == sizes || Self.describes(fit, large, bySize))
        let largeRegime = !fits && large.count >= 2 ? Self.theilSen(bySize, sizes: large) : nil
        return CopyUpCost(
            backend: backend, configuration: configuration, fit: fit, sizes: sizes,
            smallestSizeMicroseconds: smallestMedian, smallestSizeCI: smallestCI, smallSizes: small[0]...small[small.count - 1],
            lineFitsSmallSizes: fits, largeRegime: largeRegime)
    }

    /// Whether `line` describes the first writes at `sizes`: its median value over them lies
    /// inside the interval of their median, or within a fifth of it (a straight line through
    /// noisy data is never exact; a fixed cost several times what 0 bytes paid is wrong).
    static func describes(_ line: LinearFit, _ sizes: [Int64], _ bySize: [Int64: [Double]],
                          median: Double? = nil, ci: ConfidenceInterval? = nil) -> Bool {
        let samples = sizes.flatMap { bySize[$0]! }
        let median = median ?? Summary.percentile(sorted: samples.sorted(), 50)
        let ci = ci ?? Bootstrap.medianCI(samples)
        let predictions = sizes.flatMap { size in bySize[size]!.map { _ in line.predict(Double(size) / Double(1 << 20)) } }
        let predicted = Summary.percentile(sorted: predictions.sorted(), 50)
        return ci.contains(predicted) || abs(predicted - median) <= 0.2 * median
    }

    private static func theilSen(_ bySize: [Int64: [Double]], sizes: [Int64]) -> LinearFit {
        var x: [Double] = []
        var y: [Double] = []
        for size in sizes {
            x += Array(repeating: Double(size) / Double(1 << 20), count: bySize[size]!.count)
            y += bySize[size]!
        }
        return TheilSen.fit(x: x, y: y, resamples: bootstrapResamples(points: x.count))
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
            let label = "\(key[1] == "stat" ? "lookup" : key[1]) \(key[0]), position \(key[2]), \(key[3]) cache"
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

    /// Citable sentences, one per fitted configuration, then one per size in `predict` for each
    /// copy-up configuration. A prediction beyond twice the largest size measured says that it
    /// is an extrapolation.
    public func sentences(host: String, predict: [Int64] = []) -> [String] {
        var result: [String] = []
        for cost in copyUp {
            result.append("On \(host), copy-up \(cost.label): " + Self.copyUpModel(cost))
            for bytes in predict {
                result.append("On \(host), copy-up \(cost.label): " + Self.prediction(cost, bytes: bytes))
            }
        }
        for cost in lookup { result.append("On \(host), \(cost.label): " + Self.lookupModel(cost)) }
        return result
    }

    static func copyUpModel(_ cost: CopyUpCost) -> String {
        let level = percent(cost.fit.slopeCI.level)
        let range = "sizes \(ByteCount.format(cost.sizes[0]))–\(ByteCount.format(cost.largestSize))"
        let small = "the first write \(smallLabel(cost)) took \(seconds(cost.smallestSizeMicroseconds)) "
            + "(\(level) CI \(seconds(cost.smallestSizeCI.lower)) to \(seconds(cost.smallestSizeCI.upper)))"
        if cost.lineFitsSmallSizes {
            let fixed = cost.fit.intercept > 0
                ? "a fixed \(seconds(cost.fit.intercept)) (\(level) CI \(seconds(cost.fit.interceptCI.lower)) to \(seconds(cost.fit.interceptCI.upper)))"
                : "no fixed cost that the line can resolve"
            return "\(fixed) plus \(bandwidth(cost.fit)); Theil–Sen over \(cost.fit.n) samples at \(range), "
                + "R² = \(String(format: "%.3f", cost.fit.rSquared)); \(small)."
        }
        guard let large = cost.largeRegime else {
            return "one line does not fit these sizes: its fixed cost \(seconds(cost.fit.intercept)) "
                + "(\(level) CI \(seconds(cost.fit.interceptCI.lower)) to \(seconds(cost.fit.interceptCI.upper))) "
                + "disagrees with what was measured: \(small); measure at least two sizes of 1MiB or more to fit the bandwidth apart."
        }
        return "a fixed cost of \(seconds(cost.smallestSizeMicroseconds)) "
            + "(\(level) CI \(seconds(cost.smallestSizeCI.lower)) to \(seconds(cost.smallestSizeCI.upper)), measured \(smallLabel(cost))), "
            + "and from \(ByteCount.format(CopyUpCost.largeRegimeFrom)) up \(bandwidth(large)) "
            + "(Theil–Sen over \(large.n) samples to \(ByteCount.format(cost.largestSize)), R² = \(String(format: "%.3f", large.rSquared))); "
            + "one line through every size does not fit the small sizes."
    }

    /// `at 0B`, or `of files of 0B–1000KiB (median)` where the small files are many sizes.
    static func smallLabel(_ cost: CopyUpCost) -> String {
        let range = cost.smallSizes
        if range.lowerBound == range.upperBound { return "at \(ByteCount.format(range.lowerBound))" }
        return "of files of \(ByteCount.format(range.lowerBound))–\(ByteCount.format(range.upperBound)) (median)"
    }

    /// `1.2 ms per MiB (95% CI 1.1 to 1.3 ms), about 850 MB/s`.
    static func bandwidth(_ line: LinearFit) -> String {
        let perMiB = "\(seconds(line.slope)) per MiB (\(percent(line.slopeCI.level)) CI \(seconds(line.slopeCI.lower)) to \(seconds(line.slopeCI.upper)))"
        guard line.slope > 0, line.slopeCI.lower > 0 else { return perMiB + ", no bandwidth that the data can resolve" }
        return perMiB + String(format: ", about %.0f MB/s", Double(1 << 20) / line.slope)
    }

    static func prediction(_ cost: CopyUpCost, bytes: Int64) -> String {
        let (predicted, ci) = cost.predict(bytes: bytes)
        let figure = "a first write to a \(ByteCount.format(bytes)) lower file is predicted at \(seconds(predicted)) "
            + "(\(percent(ci.level)) CI \(seconds(ci.lower)) to \(seconds(ci.upper)))"
        if bytes > 2 * cost.largestSize { return figure + ", extrapolated from ≤ \(ByteCount.format(cost.largestSize))." }
        if bytes > cost.largestSize { return figure + ", beyond the largest size measured (\(ByteCount.format(cost.largestSize)))." }
        if bytes < cost.sizes[0] { return figure + ", below the smallest size measured (\(ByteCount.format(cost.sizes[0])))." }
        return figure + ", within the sizes measured."
    }

    static func lookupModel(_ cost: LookupCost) -> String {
        let fit = cost.fit
        let interval = "\(percent(fit.slopeCI.level)) CI \(nanoseconds(fit.slopeCI.lower)) to \(nanoseconds(fit.slopeCI.upper)) per layer"
        let depths = "depths \(cost.depths.first ?? 0)–\(cost.depths.last ?? 0), least squares over \(fit.n) samples, R² = \(String(format: "%.3f", fit.rSquared))"
        guard cost.slopeIsMeasurable else { return "no measurable per-layer cost (\(interval)); \(depths)." }
        if fit.slope < 0 { return "no per-layer cost: it got faster with depth (\(interval)); \(depths)." }
        let base = fit.intercept > 0 && fit.interceptCI.lower > 0 ? "; the line starts at \(nanoseconds(fit.intercept))" : ""
        return "each extra layer adds \(nanoseconds(fit.slope)) to a \(cost.operation) (\(interval))\(base); \(depths)."
    }

    static func percent(_ level: Double) -> String { "\(Int((level * 100).rounded()))%" }

    /// `812 µs`, `3.2 ms`, `6.14 s`.
    static func seconds(_ microseconds: Double) -> String {
        switch abs(microseconds) {
        case ..<1_000: String(format: "%.0f µs", microseconds)
        case ..<1_000_000: String(format: "%.1f ms", microseconds / 1_000)
        default: String(format: "%.2f s", microseconds / 1_000_000)
        }
    }

    /// `118 ns`, `13.7 µs`, `2.1 ms`.
    static func nanoseconds(_ value: Double) -> String {
        switch abs(value) {
        case ..<1_000: String(format: "%.1f ns", value)
        case ..<1_000_000: String(format: "%.1f µs", value / 1_000)
        default: String(format: "%.2f ms", value / 1_000_000)
        }
    }
}
