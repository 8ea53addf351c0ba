import Foundation
import OverlayStatistics
import OverlaySuite
import OverlayTestSupport
import Testing

@Suite("Report: capacity model and writer")
struct ReportTests {
    @Test("Exact data y = 500 + 3000·MiB gives a = 500 µs and b = 3000 µs/MiB")
    func capacityModelExactLine() throws {
        let sizes: [Int64] = [0, 4096, 1 << 20, 16 << 20, 64 << 20]
        let measurements = sizes.map { size in
            let microseconds = 500 + 3000 * Double(size) / Double(1 << 20)
            return OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "firstWrite", unit: "ns",
                               parameters: ["size": .int(size), "cache": "warm", "mountOptions": "", "fs": "root"],
                               samples: Array(repeating: microseconds * 1_000, count: 5))
        }
        let model = CapacityModel(measurements: measurements)
        let cost = try #require(model.copyUp.first)
        #expect(model.copyUp.count == 1)
        #expect(abs(cost.fixedMicroseconds - 500) < 1e-6)
        #expect(abs(cost.microsecondsPerMiB - 3000) < 1e-6)
        #expect(abs(cost.fit.rSquared - 1) < 1e-12)
        #expect(abs(cost.megabytesPerSecond! - 1048576.0 / 3000) < 1e-6)
        let (predicted, ci) = cost.predict(bytes: 2 << 30)
        #expect(abs(predicted - (500 + 3000 * 2048)) < 1e-3)
        #expect(ci.contains(predicted))
        #expect(cost.lineFitsSmallSizes)
        let sentences = model.sentences(host: "testhost", predict: [32 << 20, 100 << 20, 2 << 30])
        #expect(sentences.count == 4)
        #expect(sentences[0].contains("a fixed 500 µs"), "\(sentences[0])")
        #expect(sentences[1].contains("within the sizes measured"), "\(sentences[1])")
        #expect(sentences[2].contains("beyond the largest size measured (64MiB)"), "\(sentences[2])")
        #expect(sentences[3].contains("2GiB lower file is predicted at 6.1"), "\(sentences[3])")
        #expect(sentences[3].hasSuffix("extrapolated from ≤ 64MiB."), "\(sentences[3])")
    }

    @Test("No prediction is made unless one is asked for")
    func noDefaultPrediction() throws {
        let measurements = [4096, 1 << 20, 16 << 20].map { (size: Int) in
            OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "firstWrite", unit: "ns",
                                     parameters: ["size": .int(Int64(size)), "cache": "warm"],
                                     samples: [1_000_000 + Double(size), 1_000_100 + Double(size), 999_900 + Double(size)])
        }
        let sentences = CapacityModel(measurements: measurements).sentences(host: "h")
        #expect(sentences.count == 1)
        #expect(!sentences[0].contains("predicted"), "\(sentences[0])")
    }

    @Test("A fixed cost the smallest size contradicts splits the model into a fixed cost and a bandwidth")
    func twoRegimes() throws {
        // 200 µs at 0 and 4 KiB (the fsync of an empty file), then 1 ms + 1 ms/MiB from 1 MiB up:
        // one line through all of them would claim a fixed cost near 1 ms that 0 bytes never paid.
        let points: [(Int64, Double)] = [(0, 200), (4096, 200), (1 << 20, 2_000), (16 << 20, 17_000), (64 << 20, 65_000), (256 << 20, 257_000)]
        let measurements = points.map { size, microseconds in
            OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "firstWrite", unit: "ns",
                                     parameters: ["size": .int(size), "cache": "warm"],
                                     samples: [microseconds * 990, microseconds * 1_000, microseconds * 1_010])
        }
        let cost = try #require(CapacityModel(measurements: measurements).copyUp.first)
        #expect(!cost.lineFitsSmallSizes)
        let large = try #require(cost.largeRegime)
        #expect(abs(large.slope - 1_000) < 20)
        let sentence = try #require(CapacityModel(measurements: measurements).sentences(host: "h").first)
        #expect(sentence.contains("a fixed cost of 200 µs"), "\(sentence)")
        #expect(sentence.contains("measured at 0B") || sentence.contains("measured at 0 B"), "\(sentence)")
        #expect(sentence.contains("does not fit the small sizes"), "\(sentence)")
    }

    @Test("Byte and inode counters are never fitted as time")
    func countersAreNotModelled() {
        let footprint = [1, 16, 128].flatMap { depth in
            [("upperBytes", "bytes"), ("upperInodes", "inodes")].map { metric, unit in
                OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: metric, unit: unit,
                                         parameters: ["depth": .int(Int64(depth)), "cache": "warm", "scope": "run"],
                                         samples: [4096])
            }
        }
        let model = CapacityModel(measurements: footprint)
        #expect(model.lookup.isEmpty)
        #expect(model.sentences(host: "h").isEmpty)
    }

    @Test("A slope whose interval spans zero is no measurable per-layer cost, and a negative base is not a cost")
    func flatSlopeIsNotACost() throws {
        // Alternating noise around 1 µs at every depth: the slope's CI straddles 0.
        let measurements = [1, 2, 4, 8, 16, 32].map { depth in
            OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "stat", unit: "ns",
                                     parameters: ["depth": .int(Int64(depth)), "position": "top", "cache": "warm"],
                                     samples: [900, 1_100, 1_000, 950, 1_050])
        }
        let cost = try #require(CapacityModel(measurements: measurements).lookup.first)
        #expect(cost.fit.slopeCI.contains(0))
        let sentence = try #require(CapacityModel(measurements: measurements).sentences(host: "h").first)
        #expect(sentence.contains("no measurable per-layer cost (95% CI"), "\(sentence)")
        #expect(!sentence.contains("adds"), "\(sentence)")
        #expect(!sentence.contains("base"), "\(sentence)")
    }

    @Test("Lookup: exact data 200 ns + 40 ns/layer gives the slope by least squares")
    func lookupSlope() throws {
        let measurements = [1, 2, 4, 8, 16].map { depth in
            OverlaySuite.Measurement(probe: "lookup", backend: "kernel", metric: "stat", unit: "ns",
                        parameters: ["depth": .int(Int64(depth)), "position": "bottom", "cache": "warm"],
                        samples: [200 + 40 * Double(depth) - 1, 200 + 40 * Double(depth) + 1])
        }
        let cost = try #require(CapacityModel(measurements: measurements).lookup.first)
        #expect(abs(cost.fit.slope - 40) < 1e-9)
        #expect(cost.fit.slopeCI.contains(40))
        #expect(cost.depths == [1, 2, 4, 8, 16])
    }

    @Test("One size only is a note, not a fit")
    func capacityModelOneSize() {
        let model = CapacityModel(measurements: ResultFixtures.copyUpRun(seed: 3, sizes: [4096]).measurements)
        #expect(model.copyUp.isEmpty)
        #expect(model.notes.count == 1)
    }

    @Test("Without gnuplot the report still has the tables and models, and says why there are no plots")
    func writesWithoutGnuplot() throws {
        try withTemporaryDirectory { directory in
            let input = ReportWriter.Input(path: "a.json", result: ResultFixtures.copyUpRun(seed: 5))
            let outcome = try ReportWriter(inputs: [input], options: .init(outDirectory: directory, plotter: nil)).write()
            let markdown = try String(contentsOfFile: outcome.markdownPath, encoding: .utf8)
            let html = try String(contentsOfFile: outcome.htmlPath, encoding: .utf8)
            #expect(outcome.plotFiles.isEmpty)
            #expect(markdown.contains("gnuplot is not installed"))
            #expect(markdown.contains("### Probe `copyup`"))
            #expect(markdown.contains("95% CI of p50"))
            #expect(markdown.contains("per MiB"))
            #expect(markdown.contains("No read probe samples"))
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.contains("<table>"))
            #expect(!html.contains("<svg"))
        }
    }

    @Test("With gnuplot the plots are SVG and PNG, and the HTML embeds the SVGs inline", Gate.gnuplot.trait)
    func writesPlots() throws {
        try Gate.gnuplot.require()
        try withTemporaryDirectory { directory in
            let inputs = [
                ReportWriter.Input(path: "a.json", result: ResultFixtures.copyUpRun(seed: 5)),
                ReportWriter.Input(path: "b.json", result: ResultFixtures.copyUpRun(scale: 0.3, seed: 6, options: "volatile")),
            ]
            let plotter = try #require(GnuplotPlotter.locate())
            let outcome = try ReportWriter(inputs: inputs, options: .init(outDirectory: directory, plotter: plotter)).write()
            #expect(outcome.plotFiles.map { ($0 as NSString).lastPathComponent }.sorted() == [
                "copyup-first-vs-second.png", "copyup-first-vs-second.svg", "copyup-latency.png", "copyup-latency.svg",
            ])
            for file in outcome.plotFiles {
                let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int ?? 0
                #expect(size > 1000, "\(file) is \(size) bytes")
            }
            let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/plots/copyup-latency.png"))
            #expect(png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
            let html = try String(contentsOfFile: outcome.htmlPath, encoding: .utf8)
            #expect(html.components(separatedBy: "<svg").count - 1 == 2)
            #expect(!html.contains("<?xml"))
            #expect(html.contains("id=\"f1_") && html.contains("id=\"f2_"))
            let markdown = try String(contentsOfFile: outcome.markdownPath, encoding: .utf8)
            #expect(markdown.contains("](plots/copyup-latency.svg)"))
            #expect(markdown.contains("kernel 6.8.0-test · fs root: ext4 (rw,relatime) · overlay options: defaults, volatile"))
            // Each image has its own alt text: the plot's title.
            #expect(markdown.contains("![Copy-up: first-write latency against file size"), "\(markdown)")
            #expect(markdown.contains("![First write (copy-up, solid) against second write"), "\(markdown)")
            // The log axis is labelled in human units, and a size of 0 is said to be left off.
            let svg = try String(contentsOfFile: directory + "/plots/copyup-latency.svg", encoding: .utf8)
            #expect(svg.contains(">1 ms<") || svg.contains(">100 µs<"), "no human y tics")
            #expect(!svg.contains("1e+0"))
        }
    }

    @Test("An absolute plots directory is linked relatively, so the report can be moved with its plots", Gate.gnuplot.trait)
    func relativeImagePaths() throws {
        try Gate.gnuplot.require()
        try withTemporaryDirectory { directory in
            let input = ReportWriter.Input(path: "a.json", result: ResultFixtures.copyUpRun(seed: 5))
            let plotter = try #require(GnuplotPlotter.locate())
            let options = ReportWriter.Options(outDirectory: directory + "/results/quick-report", plotsDirectory: directory + "/plots", plotter: plotter)
            try FileManager.default.createDirectory(atPath: directory + "/results", withIntermediateDirectories: false)
            let outcome = try ReportWriter(inputs: [input], options: options).write()
            let markdown = try String(contentsOfFile: outcome.markdownPath, encoding: .utf8)
            #expect(markdown.contains("](../../plots/copyup-latency.svg)"), "\(markdown)")
            #expect(!markdown.contains("](" + directory))
        }
    }

    @Test("Latency tics are powers of ten in human units")
    func latencyTics() {
        let tics = ReportPlot.latencyTics(microseconds: [60, 250_000])
        #expect(tics.map(\.0) == ["10 µs", "100 µs", "1 ms", "10 ms", "100 ms", "1 s"])
    }

    @Test("Caveats travel with the numbers: a journal-less ext4 and a fuse cold lookup are named")
    func caveats() throws {
        var result = ResultFixtures.copyUpRun(seed: 5)
        result.environment.cpuCount = 2
        for index in result.environment.backingFilesystems.indices { result.environment.backingFilesystems[index].journal = false }
        result.measurements.append(OverlaySuite.Measurement(probe: "lookup", backend: "fuse", metric: "stat", unit: "ns",
                                                            parameters: ["cache": "cold", "depth": 4], samples: [1, 2]))
        let texts = ReportCaveat.caveats(result.environment, result.measurements).map(\.text)
        #expect(texts.contains { $0.contains("ext4 without a journal") })
        #expect(texts.contains { $0.contains("only 2 CPUs") })
        #expect(texts.contains { $0.contains("fuse-overlayfs keeps its own node cache") })
        try withTemporaryDirectory { directory in
            let outcome = try ReportWriter(inputs: [.init(path: "a.json", result: result)], options: .init(outDirectory: directory, plotter: nil)).write()
            let markdown = try String(contentsOfFile: outcome.markdownPath, encoding: .utf8)
            #expect(markdown.contains("**caveat**: root (") && markdown.contains("without a journal"), "\(markdown)")
        }
    }

    @Test("Merge puts one column per host")
    func merge() throws {
        var a = ResultFixtures.copyUpRun(seed: 1)
        a.environment.hostname = "alpha"
        var b = ResultFixtures.copyUpRun(scale: 2, seed: 2)
        b.environment.hostname = "beta"
        let report = MergeReport(inputs: [.init(path: "a.json", result: a), .init(path: "b.json", result: b)])
        let markdown = report.document().markdown()
        #expect(markdown.contains("| backend | metric | parameters | p50 alpha | p50 beta |"))
        #expect(markdown.components(separatedBy: "\n").filter { $0.hasPrefix("| kernel | firstWrite") }.count == 3)
    }
}
