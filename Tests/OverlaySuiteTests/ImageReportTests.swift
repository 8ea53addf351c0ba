import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite struct ImageReportTests {
    @Test func theReportSaysWhatTheImageHolds() throws {
        try withTemporaryDirectory(prefix: "overlaybench-report") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            _ = try ImageImporter(options: LayerApplyOptions(rootless: !Host.isRoot))
                .importImage(ImageReference(parsing: "oci:\(directory)/layout:sample"), to: directory + "/image")
            let text = ImageReport.render(try ImageCatalog(directory: directory + "/image"))
            #expect(text.contains("6 layers"))
            #expect(text.contains("deepest path: usr/share/very-long-directory-name"))
            #expect(text.contains("whiteouts: 4:") && text.contains("opaque directories: 4:"))
            #expect(text.contains("file sizes in the merged view:") && text.contains("\n>") == false)
            let layerRows = text.split(separator: "\n").filter { $0.hasPrefix("0 top") || $0.hasPrefix("5 bottom") }
            #expect(layerRows.count == 2, "\(text)")
        }
    }
}

/// The report's image section from a constructed copy-up run: a histogram and first writes that
/// lie exactly on 500 µs + 3000 µs per MiB, so the price of every share of the image is known.
@Suite("Report: an image's copy-up")
struct ImageCopyUpReportTests {
    static let image: [String: ParameterValue] = ["image": "oci:/images/app:v1", "imageManifest": "sha256:abc", "layers": 6]
    /// Size class, files and bytes in the image, and the sizes of the files sampled, in round order.
    static let classes: [(label: String, files: Int, bytes: Int64, sampled: [Int64])] = [
        ("0", 100, 0, [0, 0, 0]),
        ("≤4KiB", 300, 600 << 10, [1000, 2000, 4000]),
        ("≤1MiB", 50, 25 << 20, [300_000, 600_000, 1_000_000]),
        ("≤16MiB", 5, 40 << 20, [5 << 20, 10 << 20, 16 << 20]),
    ]

    /// 500 µs + 3000 µs per MiB.
    static func line(_ size: Int64) -> Double { 500 + 3000 * Double(size) / Double(1 << 20) }

    /// The run's measurements; each class's samples are taken in the rounds `order`, so a
    /// sample's size is found only through its round. `cost(size)` is a first write, µs.
    static func run(order: [Int] = [2, 0, 1], cost: (Int64) -> Double = line) -> [OverlaySuite.Measurement] {
        var measurements: [OverlaySuite.Measurement] = []
        for sizeClass in classes {
            var parameters = image
            parameters["sizeClass"] = .string(sizeClass.label)
            parameters["imageBytesInClass"] = .int(sizeClass.bytes)
            parameters["scope"] = "image"
            measurements.append(.init(probe: "copyup", backend: "-", metric: "imageFiles", unit: "files", parameters: parameters,
                                      samples: [Double(sizeClass.files)]))
        }
        for sizeClass in classes {
            var parameters = image
            parameters["sizeClass"] = .string(sizeClass.label)
            parameters["fileSizes"] = .string(sizeClass.sampled.map(String.init).joined(separator: ","))
            parameters["files"] = .string(sizeClass.sampled.indices.map { "f\($0)" }.joined(separator: ","))
            parameters["cache"] = "warm"
            parameters["fs"] = "root"
            parameters["mountOptions"] = ""
            var m = OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "firstWrite", unit: "ns", parameters: parameters,
                                             samples: order.map { cost(sizeClass.sampled[$0]) * 1_000 })
            m.rounds = order
            measurements.append(m)
        }
        return measurements
    }

    @Test("The histogram and the price of each share come from the measured model")
    func pricesTheImage() throws {
        let model = try #require(ImageCopyUpModel.models(Self.run()).first)
        #expect(model.files == 455 && model.sampledFiles == 12)
        #expect(model.histogram.map(\.files) == [100, 300, 50, 5])
        let estimate = try #require(model.estimates.first)
        #expect(model.estimates.count == 1 && estimate.samples == 12)
        let cost = try #require(estimate.cost)
        #expect(cost.lineFitsSmallSizes && abs(cost.fixedMicroseconds - 500) < 1e-6 && abs(cost.microsecondsPerMiB - 3000) < 1e-6)
        // 455 fixed costs and 3000 µs for each MiB of the image's 65.59 MiB.
        let expected = 455 * 500 + 3000 * (Double(600 << 10) + Double(65 << 20)) / Double(1 << 20)
        let total = try #require(estimate.total)
        #expect(abs(total.microseconds - expected) < 1e-3, "\(total.microseconds) vs \(expected)")
        #expect(total.ci.contains(total.microseconds))
        let sentence = try #require(model.sentences(host: "testhost").first)
        #expect(sentence.contains("first-writing a uniform 1% (5 files) about 4.2 ms"), "\(sentence)")
        #expect(sentence.contains("2.6% (12 files, the share sampled) about 11.2 ms"), "\(sentence)")
        #expect(sentence.contains("10% (46 files) about 42.4 ms"), "\(sentence)")
        #expect(sentence.contains("all 455 files about 424.3 ms (95% CI"), "\(sentence)")
        #expect(sentence.contains("on image `oci:/images/app:v1` (455 regular files"), "\(sentence)")
        #expect(!sentence.contains("inconclusive") && !sentence.contains("extrapolated"), "\(sentence)")
    }

    @Test("Pairing a sample with its file by position instead of by round would not give the line")
    func roundsPairSamplesWithFiles() throws {
        let byRound = try #require(ImageCopyUpModel.models(Self.run(order: [2, 0, 1])).first?.estimates.first?.cost)
        let declared = try #require(ImageCopyUpModel.models(Self.run(order: [0, 1, 2])).first?.estimates.first?.cost)
        #expect(abs(byRound.microsecondsPerMiB - declared.microsecondsPerMiB) < 1e-6)
        #expect(abs(byRound.fit.rSquared - 1) < 1e-9)
    }

    @Test("Small and large files priced apart where one line does not describe both, inconclusive where the large cannot be fitted")
    func twoRegimesOrInconclusive() throws {
        // Files below 1 MiB cost a flat 200 µs, larger ones 5 ms + 3 ms per MiB: the robust line
        // through nine small files and three large ones is the small files' flat one, which
        // misses the large files, so the large files get their own line.
        let split = { (size: Int64) in size < 1 << 20 ? 200 : 5_000 + 3_000 * Double(size) / Double(1 << 20) }
        let estimate = try #require(ImageCopyUpModel.models(Self.run(cost: split)).first?.estimates.first)
        let cost = try #require(estimate.cost)
        #expect(!cost.lineFitsSmallSizes && cost.largeRegime != nil && cost.smallSizes == 0...1_000_000)
        let total = try #require(estimate.total)
        // 450 small files at 200 µs; 5 large ones at 5 ms and 3 ms for each of their 40 MiB.
        #expect(abs(total.microseconds - (450 * 200 + 5 * 5_000 + 3_000 * 40)) < 1, "\(total.microseconds)")
        // The same with every large file 16 MiB: no line can be fitted to the large files.
        var measurements = Self.run(cost: split)
        for index in measurements.indices where measurements[index].text("sizeClass") == "≤16MiB" && measurements[index].metric == "firstWrite" {
            measurements[index].parameters["fileSizes"] = "16777216,16777216,16777216"
            measurements[index].samples = Array(repeating: split(16 << 20) * 1_000, count: 3)
        }
        let model = try #require(ImageCopyUpModel.models(measurements).first)
        let unfitted = try #require(model.estimates.first)
        #expect(unfitted.cost?.isSupported == false && unfitted.total == nil)
        let sentence = try #require(model.sentences(host: "h").first)
        #expect(sentence.contains("first-writing a share of this image's files is inconclusive"), "\(sentence)")
        #expect(!sentence.contains("about"), "\(sentence)")
    }

    @Test("The report carries the image's histogram and the sentence; the synthetic model leaves image first writes alone")
    func reportSection() throws {
        try withTemporaryDirectory { directory in
            let result = ResultFile(environment: ResultFixtures.environment(), measurements: Self.run())
            #expect(CapacityModel(measurements: result.measurements).notes.isEmpty)
            let outcome = try ReportWriter(inputs: [.init(path: "image.json", result: result)],
                                           options: .init(outDirectory: directory, plotter: nil)).write()
            let markdown = try FileSystem.readText(outcome.markdownPath)
            #expect(markdown.contains("### Image `oci:/images/app:v1`: file sizes and what first-writing them costs"))
            #expect(markdown.contains("| ≤4KiB | 300 | 65.9% | 600 KiB | 0.9% | 3 |"), "\(markdown)")
            #expect(markdown.contains("| all | 455 | 100% | 65.6 MiB | 100% | 12 |"), "\(markdown)")
            #expect(markdown.contains("first-writing a uniform 1% (5 files)"))
        }
    }
}
