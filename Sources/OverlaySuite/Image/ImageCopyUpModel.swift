import Foundation
import OverlayCore
import OverlayStatistics

/// What a copy-up run on an imported image says about that image: its file-size histogram (as
/// the run recorded it, `imageFiles` per size class) and, per configuration, the copy-up cost
/// model fitted to the image's own first writes (``CapacityModel/CopyUpCost``: Theil–Sen of
/// each sample against its file's size, with two regimes where one line does not fit the small
/// files), applied to the whole histogram: what first-writing a share of the image's files costs.
///
/// A sample's size is its file's: a size class's measurement lists its files' sizes in round
/// order (`fileSizes`), and each sample's round (`rounds`) says which file it wrote.
public struct ImageCopyUpModel: Sendable {
    /// One size class of the image.
    public struct HistogramRow: Sendable, Equatable {
        public var sizeClass: ImageSizeClass
        public var files: Int
        public var bytes: Int64
        /// Files of the class whose first writes were measured.
        public var sampled: Int
    }

    /// The cost of first-writing the image's files in one configuration (backend, cache, fs, …).
    public struct Estimate: Sendable {
        public var backend: String
        /// The configuration's parameters, without the image's and the size class's.
        public var configuration: [String: String]
        /// nil when the samples cover fewer than two file sizes.
        public var cost: CapacityModel.CopyUpCost?
        /// First writes the model was fitted to.
        public var samples: Int
        /// Every regular file of the image, µs, with the interval from the ends of the model's
        /// intervals; nil when the model is not supported by the data.
        public var total: (microseconds: Double, ci: ConfidenceInterval)?

        public var label: String {
            ([backend] + configuration.keys.sorted().map { name in
                let value = configuration[name]!
                return "\(name)=\(value.isEmpty && name == "mountOptions" ? "defaults" : value)"
            }).joined(separator: ", ")
        }
    }

    /// The image's source and manifest, as the run recorded them.
    public var image: String
    public var manifest: String
    public var histogram: [HistogramRow]
    public var estimates: [Estimate]

    public var files: Int { histogram.reduce(0) { $0 + $1.files } }
    public var bytes: Int64 { histogram.reduce(0) { $0 + $1.bytes } }
    /// Distinct files whose first writes were measured.
    public var sampledFiles: Int { histogram.reduce(0) { $0 + $1.sampled } }

    /// Parameters that describe a size class or the image, not a configuration.
    static let classParameters: Set<String> = ["sizeClass", "files", "fileSizes", "drawSeed", "imageFilesInClass", "imageBytesInClass"]
    static let imageParameters: Set<String> = ["image", "imageManifest", "layers"]

    /// One model per image that a copy-up run in `measurements` recorded a histogram for.
    public static func models(_ measurements: [Measurement]) -> [ImageCopyUpModel] {
        let histograms = measurements.filter { $0.probe == "copyup" && $0.metric == "imageFiles" && $0.hasSamples }
        var images: [String] = []
        for m in histograms where !images.contains(m.text("imageManifest")) { images.append(m.text("imageManifest")) }
        return images.map { manifest in
            ImageCopyUpModel(manifest: manifest, histogram: histograms.filter { $0.text("imageManifest") == manifest },
                             firstWrites: measurements.filter {
                                 $0.probe == "copyup" && $0.metric == "firstWrite" && $0.unit == "ns" && $0.hasSamples
                                     && $0.text("imageManifest") == manifest
                             })
        }
    }

    init(manifest: String, histogram: [Measurement], firstWrites: [Measurement]) {
        self.manifest = manifest
        image = histogram.first?.text("image") ?? ""
        var sampled: [String: Int] = [:]
        for m in firstWrites { sampled[m.text("sizeClass")] = max(sampled[m.text("sizeClass")] ?? 0, Self.sizes(m).count) }
        let rows = histogram.compactMap { m -> HistogramRow? in
            guard let sizeClass = ImageSizeClass.all.first(where: { $0.description == m.text("sizeClass") }) else { return nil }
            return HistogramRow(sizeClass: sizeClass, files: Int(m.samples[0]), bytes: m.parameters["imageBytesInClass"]?.intValue ?? 0,
                                sampled: sampled[sizeClass.description] ?? 0)
        }.sorted { $0.sizeClass < $1.sizeClass }
        self.histogram = rows
        let groups = Dictionary(grouping: firstWrites) { m in
            [m.backend] + m.parameters.keys.sorted().filter {
                !Self.classParameters.contains($0) && !Self.imageParameters.contains($0) && !CapacityModel.nonConfigurationParameters.contains($0)
            }.map { "\($0)=\(m.text($0))" }
        }
        estimates = groups.keys.sorted { $0.joined(separator: "\u{1}") < $1.joined(separator: "\u{1}") }.map { key in
            var bySize: [Int64: [Double]] = [:]
            var samples = 0
            for m in groups[key]! {
                let sizes = Self.sizes(m)
                for (index, value) in m.samples.enumerated() {
                    // The sample's round is its file's place in the class's list.
                    let round = m.rounds.map { $0[index] } ?? index % max(sizes.count, 1)
                    guard sizes.indices.contains(round) else { continue }
                    bySize[sizes[round], default: []].append(value / 1_000)
                    samples += 1
                }
            }
            let configuration = Dictionary(uniqueKeysWithValues: key.dropFirst().map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
            })
            let cost = CapacityModel.copyUpCost(backend: key[0], configuration: configuration, bySize: bySize, perFile: true)
            return Estimate(backend: key[0], configuration: configuration, cost: cost, samples: samples,
                            total: cost.flatMap { $0.isSupported ? Self.total($0, rows) : nil })
        }
    }

    /// A class's file sizes in round order (`fileSizes`).
    static func sizes(_ m: Measurement) -> [Int64] {
        m.text("fileSizes").split(separator: ",").compactMap { Int64($0) }
    }

    /// The model over every class: its files and bytes, each class in the regime of its smallest size.
    static func total(_ cost: CapacityModel.CopyUpCost, _ histogram: [HistogramRow]) -> (microseconds: Double, ci: ConfidenceInterval) {
        var value = 0.0, low = 0.0, high = 0.0
        for row in histogram {
            let part = cost.predict(files: row.files, bytes: row.bytes, sizesFrom: row.sizeClass.lowerBound)
            value += part.microseconds
            low += part.ci.lower
            high += part.ci.upper
        }
        return (value, ConfidenceInterval(lower: low, upper: high, level: cost.fit.slopeCI.level))
    }

    /// The shares of the image's files a sentence prices: the share sampled, 1% (when that is
    /// a file or more), 10% and all of them.
    public var fractions: [Double] {
        guard files > 0 else { return [] }
        let sampled = Double(sampledFiles) / Double(files)
        var result = [0.1, 1.0]
        if Double(files) * 0.01 >= 1 { result.append(0.01) }
        if sampled > 0 && !result.contains(where: { abs($0 - sampled) < 0.0005 }) { result.append(sampled) }
        return result.sorted()
    }

    // MARK: - Sentences

    /// One sentence per configuration: "first-writing X% of this image's files costs about …",
    /// with the interval, or why that is inconclusive.
    public func sentences(host: String) -> [String] {
        estimates.map { estimate in
            "On \(host), copy-up \(estimate.label) on image `\(image)` (\(files) regular files, \(HumanUnits.bytes(Double(bytes)))): "
                + sentence(estimate)
        }
    }

    func sentence(_ estimate: Estimate) -> String {
        guard let cost = estimate.cost else {
            return "first-writing a share of this image's files is inconclusive: the \(estimate.samples) first writes measured cover one file size, so there is no line to fit; sample more files (--sample-files)."
        }
        guard let total = estimate.total else {
            return "first-writing a share of this image's files is inconclusive: " + CapacityModel.copyUpModel(cost)
                + " On an image, more files drawn (--sample-files) bring more of its large files."
        }
        guard total.ci.lower > 0 else {
            return "first-writing a share of this image's files is inconclusive: the model's interval for all of them, "
                + "\(CapacityModel.seconds(total.ci.lower)) to \(CapacityModel.seconds(total.ci.upper)), reaches zero; sample more files (--sample-files)."
        }
        let level = CapacityModel.percent(total.ci.level)
        let shares = fractions.map { fraction -> String in
            let count = Int((Double(files) * fraction).rounded())
            let what = fraction == 1 ? "all \(files) files" : "\(Self.percent(fraction)) (\(count) files\(count == sampledFiles && fraction < 1 ? ", the share sampled" : ""))"
            return "\(what) about \(CapacityModel.seconds(total.microseconds * fraction)) "
                + "(\(level) CI \(CapacityModel.seconds(total.ci.lower * fraction)) to \(CapacityModel.seconds(total.ci.upper * fraction)))"
        }
        var text = "first-writing a uniform " + shares.joined(separator: ", ")
        text += "; the interval joins the ends of the model's intervals, so it is wider than the true one. "
        text += "The model, fitted to \(estimate.samples) first writes of \(estimate.cost.map { "\($0.sizes.count) file sizes, \(ByteCount.format($0.sizes[0]))–\(ByteCount.format($0.largestSize))" } ?? ""): "
            + CapacityModel.copyUpModel(cost)
        let beyond = histogram.filter { $0.sizeClass.lowerBound > cost.largestSize }
        if !beyond.isEmpty {
            let bytesBeyond = beyond.reduce(Int64(0)) { $0 + $1.bytes }
            text += " \(beyond.reduce(0) { $0 + $1.files }) of the image's files (\(HumanUnits.bytes(Double(bytesBeyond)))) are larger than any measured (\(ByteCount.format(cost.largestSize))): their share is extrapolated."
        }
        return text
    }

    /// `1.6%`, `10%`, `0.25%`.
    static func percent(_ fraction: Double) -> String {
        let value = fraction * 100
        if value >= 10 || value == value.rounded() { return String(format: "%.0f%%", value) }
        return value >= 1 ? String(format: "%.1f%%", value) : String(format: "%.2f%%", value)
    }
}
