import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The backends present here: kernel always (the suite's gate), fuse and plain when available.
func probeBackends() -> [any OverlayBackend] {
    var backends: [any OverlayBackend] = [KernelOverlayBackend(), PlainDirectoryBackend()]
    if Gate.fuseOverlayfs.isAvailable { backends.insert(FuseOverlayBackend(), at: 1) }
    return backends
}

/// Overlay and fuse mounts below `path`.
func overlayMounts(under path: String) -> [MountEntry] {
    MountTable.current().mounts(under: path)
        .filter { $0.fileSystemType == "overlay" || $0.fileSystemType == FuseOverlayBackend.fileSystemType }
}

@Suite("Lookup probe", .serialized, Gate.kernelOverlay.trait)
struct LookupProbeTests {
    @Test func oneMeasurementPerBackendDepthPositionAndCache() throws {
        try Gate.kernelOverlay.require()
        var configuration = LookupProbe.Configuration()
        configuration.depths = [1, 4]
        configuration.sampling.samples = 3
        configuration.sampling.warmup = 0
        configuration.sampling.caches = [.warm, .cold]
        configuration.widths = [10]
        configuration.widthDepth = 2
        let backends = probeBackends()
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try withTemporaryDirectory { directory in
            try LookupProbe(configuration: configuration, backends: backends, log: ProgressLog(level: .quiet))
                .run(in: directory, book: book, mounts: &mounts)
            #expect(overlayMounts(under: directory).isEmpty)
        }
        let measurements = book.measurements()
        let stats = measurements.filter { $0.metric == "stat" }
        #expect(stats.count == backends.count * 2 * LookupProbe.Position.allCases.count * 2)
        var seen = Set<String>()
        for m in stats {
            #expect(m.samples.count == 3)
            #expect(m.unit == "ns")
            let p = m.parameters
            #expect(p["mountMethod"]?.stringValue?.isEmpty == false)
            #expect((p["cache"]?.stringValue == "cold") == (p["coldMethod"] != nil))
            seen.insert("\(m.backend)/\(p["depth"]!)/\(p["position"]!)/\(p["cache"]!)")
        }
        #expect(seen.count == stats.count)
        let slopes = measurements.filter { $0.metric == "statSlope" }
        #expect(slopes.count == backends.count * LookupProbe.Position.allCases.count * 2)
        for slope in slopes {
            #expect(slope.unit == "ns/layer" && slope.samples.count == 1)
            let low = try #require(slope.parameters["slopeLow"].flatMap { if case .double(let v) = $0 { v } else { nil } })
            let high = try #require(slope.parameters["slopeHigh"].flatMap { if case .double(let v) = $0 { v } else { nil } })
            #expect(low <= slope.samples[0] && slope.samples[0] <= high)
        }
        let readdir = measurements.filter { $0.metric == "readdir" }
        // depth sweep: backends × 2 depths × 2 caches; width sweep: backends × 1 width × 2 caches.
        #expect(readdir.count == backends.count * 2 * 2 + backends.count * 2)
        #expect(mounts.count == backends.count * 3)
    }

    /// The reference serves its view in-process: its lookups go through its own API, but it has
    /// no merged directory for readdir to open, so those figures are recorded as skipped.
    @Test func aBackendWithoutAMergedDirectoryRecordsReaddirAsSkipped() throws {
        try Gate.kernelOverlay.require()
        var configuration = LookupProbe.Configuration()
        configuration.depths = [1, 2]
        configuration.sampling.samples = 2
        configuration.sampling.warmup = 0
        configuration.widths = [10]
        configuration.widthDepth = 2
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try withTemporaryDirectory { directory in
            try LookupProbe(configuration: configuration, backends: [ReferenceOverlayBackend(), KernelOverlayBackend()],
                            log: ProgressLog(level: .quiet))
                .run(in: directory, book: book, mounts: &mounts)
            #expect(overlayMounts(under: directory).isEmpty)
        }
        let measurements = book.measurements()
        let readdir = measurements.filter { $0.metric == "readdir" }
        // Two depths and one width, per backend.
        #expect(readdir.filter { $0.backend == "reference" }.count == 3)
        for m in readdir where m.backend == "reference" {
            #expect(m.samples.isEmpty && m.skipped?.contains("no merged directory") == true, "\(m.skipped ?? "not skipped")")
        }
        #expect(readdir.filter { $0.backend == "kernel" }.allSatisfy { $0.skipped == nil && $0.samples.count == 2 })
        let stats = measurements.filter { $0.metric == "stat" && $0.backend == "reference" }
        #expect(stats.count == 2 * LookupProbe.Position.allCases.count && stats.allSatisfy { $0.samples.count == 2 })
    }
}
