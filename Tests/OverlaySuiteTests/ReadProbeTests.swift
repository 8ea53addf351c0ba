import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("Read probe", .serialized, Gate.kernelOverlay.trait)
struct ReadProbeTests {
    @Test func measuresEveryPlaceAndMetric() throws {
        try Gate.kernelOverlay.require()
        var configuration = ReadProbe.Configuration()
        configuration.size = 256 << 10
        configuration.depth = 3
        configuration.sampling.samples = 2
        configuration.sampling.warmup = 0
        configuration.randomReads = 8
        configuration.sampling.caches = [.warm, .cold]
        let backends = probeBackends()
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try withTemporaryDirectory { directory in
            try ReadProbe(configuration: configuration, backends: backends, log: ProgressLog(level: .quiet))
                .run(in: directory, book: book, mounts: &mounts)
            #expect(overlayMounts(under: directory).isEmpty)
        }
        // Timings only: the upper and work footprint (scope=run) is recorded beside them.
        let measurements = book.measurements().filter { $0.parameters["scope"] == nil }
        var places = Set<String>()
        for m in measurements {
            let place = try #require(m.parameters["place"]?.stringValue)
            places.insert("\(m.backend)/\(place)")
            #expect((m.backend == "plain") == (place == "plain"))
            switch m.metric {
            case "open", "firstByte": #expect(m.samples.count == 2 && m.unit == "ns")
            case "randomRead": #expect(m.samples.count == 2 * 8 && m.unit == "ns")
            case "randomReadPercentiles": #expect(m.samples.count == LatencyHistogramPoints.count)
            case "sequentialRead": #expect(m.samples.count == 2 && m.unit == "GB/s" && m.samples.allSatisfy { $0 > 0 })
            default: Issue.record("unexpected metric \(m.metric)")
            }
        }
        let expectedPlaces = backends.flatMap { backend in
            backend.identifier == "plain" ? ["plain/plain"] : ["\(backend.identifier)/lower", "\(backend.identifier)/upper"]
        }
        #expect(places == Set(expectedPlaces))
        // 5 metrics × 2 caches per backend and place.
        #expect(measurements.count == expectedPlaces.count * 5 * 2)
    }
}

/// The percentiles a LatencyHistogram reports (OverlayStatistics is not a dependency of this target).
enum LatencyHistogramPoints {
    static let count = 12
}
