import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The copy-up, lookup and read probes on an imported image, on every backend available here
/// (kernel, plain and reference; fuse where fuse-overlayfs is installed), with few samples:
/// every sample verified, every mount gone afterwards, the draw recorded.
@Suite("Image probes", .serialized, Gate.kernelOverlay.trait)
struct ImageProbeTests {
    /// kernel, plain, fuse where available, and the reference (its copy-up on io_uring where that works).
    private func imageBackends() -> [any OverlayBackend] {
        probeBackends() + [ReferenceOverlayBackend(copyEngine: Gate.ioURing.isAvailable ? CopyEngineKind.ioURing.identifier : "read-write")]
    }

    private func withImage(_ body: (ImageWorkload, String) throws -> Void) throws {
        try withTemporaryDirectory(prefix: "overlaybench-imageprobe") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            _ = try ImageImporter().importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: directory + "/image")
            let run = directory + "/run"
            try FileSystem.makeDirectory(run)
            try body(try ImageWorkload(directory: directory + "/image"), run)
            #expect(overlayMounts(under: directory).isEmpty)
            // The import is only read: no run writes into it.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/image").count == 6 + 3)
        }
    }

    @Test func copyUpFirstWritesTheImagesOwnFilesBySizeClass() throws {
        try Gate.kernelOverlay.require()
        try withImage { workload, run in
            var configuration = ImageCopyUpProbe.Configuration()
            configuration.sampleFiles = 6
            configuration.sampling.caches = [.warm, .cold]
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            let probe = ImageCopyUpProbe(configuration: configuration, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
            try probe.run(in: run, book: book, mounts: &mounts)
            let measurements = book.measurements()
            let firstWrites = measurements.filter { $0.metric == "firstWrite" }
            let drawn = probe.measuredDraws
            #expect(drawn.count == 6)
            for backend in imageBackends().map(\.identifier) {
                for cache in ["warm", "cold"] {
                    let mine = firstWrites.filter { $0.backend == backend && $0.parameters["cache"]?.stringValue == cache }
                    #expect(mine.reduce(0) { $0 + $1.samples.count } == drawn.count, "\(backend) \(cache)")
                    let files = mine.flatMap { ($0.parameters["files"]?.stringValue ?? "").split(separator: ",").map(String.init) }
                    #expect(Set(files) == Set(drawn.map(\.file.path)))
                    #expect(Set(mine.compactMap { $0.parameters["sizeClass"]?.stringValue }) == Set(drawn.map(\.sizeClass.description)))
                    for m in mine {
                        // A class is drawn from in consecutive rounds, one file each: its files, in round order.
                        #expect(m.rounds == Array(0..<m.samples.count), "\(backend) \(cache) \(m.text("sizeClass"))")
                        #expect(m.slots?.count == m.samples.count)
                        #expect(m.text("fileSizes").split(separator: ",").count == m.samples.count)
                        #expect(m.parameters["quiesce"] == .bool(true) && m.parameters["shuffleSeed"] == .int(1))
                        #expect((cache == "cold") == (m.parameters["coldMethod"] != nil))
                    }
                    let overheads = measurements.filter { $0.metric == "overhead" && $0.backend == backend && $0.text("cache") == cache }
                    #expect(overheads.count == mine.count && overheads.allSatisfy { $0.interval != nil && $0.samples.count == 1 })
                }
            }
            for cache in ["warm", "cold"] {
                let controls = measurements.filter { $0.metric == "control" && $0.text("cache") == cache }
                #expect(controls.allSatisfy { $0.backend == "-" } && controls.reduce(0) { $0 + $1.samples.count } == drawn.count)
            }
            // The whole histogram, once: every regular file of the image in one class.
            let histogram = measurements.filter { $0.metric == "imageFiles" }
            #expect(histogram.allSatisfy { $0.samples.count == 1 && $0.unit == "files" })
            #expect(histogram.reduce(0) { $0 + Int($1.samples[0]) } == workload.catalog.regularFiles.count)
            let estimates = measurements.filter { $0.metric == "firstWriteAllFiles" }
            #expect(estimates.count == imageBackends().count * 2 && estimates.allSatisfy { $0.samples[0] > 0 })
        }
    }

    /// Kernel and reference (the reference's copy-up on read-write), warm only: quick.
    private func twoBackends() -> [any OverlayBackend] { [KernelOverlayBackend(), ReferenceOverlayBackend(copyEngine: "read-write")] }

    @Test func copyUpHonoursWarmupShuffleAndRepeats() throws {
        try Gate.kernelOverlay.require()
        try withImage { workload, run in
            var configuration = ImageCopyUpProbe.Configuration()
            configuration.sampleFiles = 5
            configuration.sampling.shuffleSeed = nil
            let declared = ImageCopyUpProbe(configuration: configuration, workload: workload, backends: twoBackends(), log: ProgressLog(level: .quiet))
            // One warm-up round (a file of every class), then the five files in rounds; the
            // warm-up's files are written but never recorded.
            #expect(declared.rounds.count >= 2 && declared.measuredDraws.count == 5)
            let warmupFiles = Set(declared.rounds[0].map(\.file.path))
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            try FileSystem.makeDirectory(run + "/declared")
            try declared.run(in: run + "/declared", book: book, mounts: &mounts)
            let firstWrites = book.measurements().filter { $0.metric == "firstWrite" }
            #expect(firstWrites.allSatisfy { $0.parameters["order"] == "declared" && $0.parameters["shuffleSeed"] == nil })
            #expect(firstWrites.allSatisfy { Set($0.text("files").split(separator: ",").map(String.init)).isDisjoint(with: warmupFiles) })
            // Declared order: the smallest class on the first backend opens every round.
            let smallest = declared.measuredDraws[0].sizeClass.description
            let opening = try #require(firstWrites.first { $0.backend == "kernel" && $0.text("sizeClass") == smallest })
            #expect(opening.slots == Array(repeating: 0, count: opening.samples.count))

            // Shuffled (seed 1), in two repeats of the whole plan.
            configuration.sampling.shuffleSeed = 1
            let shuffled = ImageCopyUpProbe(configuration: configuration, workload: workload, backends: twoBackends(), log: ProgressLog(level: .quiet))
            let repeated = SampleBook()
            repeated.plannedRepeats = 2
            for index in 0..<2 {
                repeated.currentRepeat = index
                try FileSystem.makeDirectory(run + "/repeat-\(index)")
                try shuffled.run(in: run + "/repeat-\(index)", book: repeated, mounts: &mounts)
            }
            let measurements = repeated.measurements()
            let again = try #require(measurements.first { $0.metric == "firstWrite" && $0.backend == "kernel" && $0.text("sizeClass") == smallest })
            #expect(again.parameters["shuffleSeed"] == .int(1))
            #expect(again.slots != Array(repeating: 0, count: again.samples.count), "seed 1 moves the first declared trial")
            #expect(again.repeats == Array(repeating: 0, count: again.samples.count / 2) + Array(repeating: 1, count: again.samples.count / 2))
            #expect(again.repeatSpread?.p50s.count == 2)
            #expect(measurements.filter { $0.metric == "overhead" }.allSatisfy { $0.samples.count == 2 }, "one overhead per repeat")
            #expect(measurements.filter { $0.metric == "imageFiles" }.allSatisfy { $0.samples.count == 1 }, "the histogram once")
        }
    }

    @Test func lookupsAndReadsSpanTheLayers() throws {
        try Gate.kernelOverlay.require()
        try withImage { workload, run in
            var lookup = ImageLookupProbe.Configuration()
            lookup.sampling.samples = 2
            lookup.sampling.caches = [.warm, .cold]
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            try FileSystem.makeDirectory(run + "/lookup")
            try FileSystem.makeDirectory(run + "/read")
            try ImageLookupProbe(configuration: lookup, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
                .run(in: run + "/lookup", book: book, mounts: &mounts)
            let stats = book.measurements().filter { $0.metric == "stat" }
            #expect(Set(stats.compactMap { $0.parameters["position"]?.stringValue }) == ["hit", "miss", "whiteout", "directory"])
            #expect(stats.allSatisfy { $0.samples.count == 2 && $0.rounds == [0, 1] && $0.parameters["shuffleSeed"] == .int(1) })
            #expect(stats.allSatisfy { ($0.text("cache") == "cold") == ($0.parameters["coldMethod"] != nil) })
            #expect(stats.allSatisfy { $0.parameters["quiesce"] == .bool(false) })
            // Cold lookups say what they read from storage.
            // A loop, not `filter`: in this closure Swift 6.3.1's `let x = ….filter { $0.metric == "readBytes" }`
            // came back unfiltered.
            var readBytes: [OverlaySuite.Measurement] = []
            for m in book.measurements() where m.metric == "readBytes" { readBytes.append(m) }
            #expect(readBytes.count == stats.filter { $0.text("cache") == "cold" }.count)
            #expect(readBytes.allSatisfy { $0.text("of") == "stat" && $0.text("cache") == "cold" })
            var read = ImageReadProbe.Configuration()
            read.sampling.samples = 2
            read.sampling.shuffleSeed = nil
            try ImageReadProbe(configuration: read, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
                .run(in: run + "/read", book: book, mounts: &mounts)
            let readings = book.measurements().filter { $0.probe == "read" && $0.parameters["scope"] == nil }
            let places = Set(readings.compactMap { m in m.parameters["place"]?.stringValue.map { "\(m.backend)/\($0)" } })
            #expect(places.contains("kernel/lower") && places.contains("kernel/upper") && places.contains("plain/plain"))
            #expect(Set(readings.compactMap { $0.parameters["layer"]?.intValue }).count >= 2, "files ≥ 4 KiB are in two of the sample's layers")
            #expect(readings.filter { $0.metric == "sequentialRead" }.allSatisfy { $0.samples.count == 2 && $0.samples.allSatisfy { $0 > 0 } })
            #expect(readings.allSatisfy { $0.rounds == [0, 1] && $0.parameters["order"] == "declared" })
            #expect(readings.allSatisfy { ($0.text("place") == "plain") == ($0.parameters["role"] == "control") })
        }
    }
}
