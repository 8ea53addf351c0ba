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
            configuration.caches = [.warm, .cold]
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            let probe = ImageCopyUpProbe(configuration: configuration, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
            try probe.run(in: run, book: book, mounts: &mounts)
            let firstWrites = book.measurements().filter { $0.metric == "firstWrite" }
            let drawn = probe.draws().dropFirst(configuration.warmup)
            for backend in imageBackends().map(\.identifier) {
                for cache in ["warm", "cold"] {
                    let mine = firstWrites.filter { $0.backend == backend && $0.parameters["cache"]?.stringValue == cache }
                    #expect(mine.reduce(0) { $0 + $1.samples.count } == drawn.count, "\(backend) \(cache)")
                    let files = mine.flatMap { ($0.parameters["files"]?.stringValue ?? "").split(separator: ",").map(String.init) }
                    #expect(Set(files) == Set(drawn.map(\.file.path)))
                    #expect(Set(mine.compactMap { $0.parameters["sizeClass"]?.stringValue }) == Set(drawn.map(\.sizeClass.description)))
                }
            }
            let estimates = book.measurements().filter { $0.metric == "firstWriteAllFiles" }
            #expect(estimates.count == imageBackends().count * 2 && estimates.allSatisfy { $0.samples[0] > 0 })
        }
    }

    @Test func lookupsAndReadsSpanTheLayers() throws {
        try Gate.kernelOverlay.require()
        try withImage { workload, run in
            var lookup = ImageLookupProbe.Configuration()
            lookup.samples = 2
            lookup.caches = [.warm, .cold]
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            try FileSystem.makeDirectory(run + "/lookup")
            try FileSystem.makeDirectory(run + "/read")
            try ImageLookupProbe(configuration: lookup, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
                .run(in: run + "/lookup", book: book, mounts: &mounts)
            let stats = book.measurements().filter { $0.metric == "stat" }
            #expect(Set(stats.compactMap { $0.parameters["position"]?.stringValue }) == ["hit", "miss", "whiteout", "directory"])
            #expect(stats.allSatisfy { $0.samples.count == 2 })
            var read = ImageReadProbe.Configuration()
            read.samples = 2
            try ImageReadProbe(configuration: read, workload: workload, backends: imageBackends(), log: ProgressLog(level: .quiet))
                .run(in: run + "/read", book: book, mounts: &mounts)
            let reads = book.measurements().filter { $0.probe == "read" && $0.parameters["scope"] == nil }
            let places = Set(reads.compactMap { m in m.parameters["place"]?.stringValue.map { "\(m.backend)/\($0)" } })
            #expect(places.contains("kernel/lower") && places.contains("kernel/upper") && places.contains("plain/plain"))
            #expect(Set(reads.compactMap { $0.parameters["layer"]?.intValue }).count >= 2, "files ≥ 4 KiB are in two of the sample's layers")
            #expect(reads.filter { $0.metric == "sequentialRead" }.allSatisfy { $0.samples.allSatisfy { $0 > 0 } })
        }
    }
}
