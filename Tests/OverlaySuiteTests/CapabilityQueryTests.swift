import Foundation
import OverlayCore
@testable import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// A real backend under another name: the probes must follow what it declares, not what it is
/// called. Its views are the base's, renamed.
struct RenamedBackend: OverlayBackend {
    let identifier: String
    let base: any OverlayBackend
    var capabilities: BackendCapabilities { base.capabilities }
    func availability() -> BackendAvailability { base.availability() }
    func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        RenamedView(try base.mount(stack, options: options), backend: identifier)
    }
}

final class RenamedView: MergedView {
    let inner: any MergedView
    let backend: String
    init(_ inner: any MergedView, backend: String) {
        self.inner = inner
        self.backend = backend
    }
    var capabilities: BackendCapabilities { inner.capabilities }
    var root: FileDescriptor { inner.root }
    var upperPath: String { inner.upperPath }
    var effectiveOptions: String { inner.effectiveOptions }
    var mountMethod: String { inner.mountMethod }
    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try inner.open(path, flags, mode: mode)
    }
    func unmount() throws { try inner.unmount() }
}

/// The places where probes, choose and the report used to compare backend names now ask
/// capabilities. Nothing here needs root: the plain backend only copies directories.
@Suite("Capability queries")
struct CapabilityQueryTests {
    @Test("read places follow `layered`: a flattened backend gets the plain place whatever its name")
    func readPlaces() {
        #expect(ReadProbe.places(for: KernelOverlayBackend()) == [.lower, .upper])
        #expect(ReadProbe.places(for: ErofsOverlayBackend()) == [.lower, .upper])
        #expect(ReadProbe.places(for: PlainDirectoryBackend()) == [.plain])
        #expect(ReadProbe.places(for: RenamedBackend(identifier: "kernel", base: PlainDirectoryBackend())) == [.plain])
        #expect(ReadProbe.places(for: RenamedBackend(identifier: "plain", base: KernelOverlayBackend())) == [.lower, .upper])
    }

    @Test("the metadata probe checks upper by the backend's whiteout format")
    func whiteoutFlavor() {
        #expect(MetadataProbe.Flavor(BackendKind.kernel.capabilities.whiteoutFormat) == .overlay)
        #expect(MetadataProbe.Flavor(BackendKind.erofs.capabilities.whiteoutFormat) == .overlay)
        #expect(MetadataProbe.Flavor(BackendKind.reference.capabilities.whiteoutFormat) == .overlay)
        #expect(MetadataProbe.Flavor(BackendKind.fuse.capabilities.whiteoutFormat) == .fuse)
        #expect(MetadataProbe.Flavor(BackendKind.plain.capabilities.whiteoutFormat) == .plain)
    }

    @Test("a view that is not layered has no work directory to measure, whatever its name")
    func footprintOfAFlattenedView() throws {
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 2, seed: 3, files: [FileSpec(path: "f", size: 5000, layer: 1)]))
                .build(in: directory)
            // Something in the stack's work directory that a layered view would count.
            let fd = try FileDescriptor.open(stack.workPath + "/left", [.writeOnly, .create, .exclusive], mode: 0o644)
            try fd.writeAll([UInt8](repeating: 1, count: 8192), at: 0)
            try fd.closeChecked()
            let book = SampleBook()
            try withMergedView(RenamedBackend(identifier: "kernel", base: PlainDirectoryBackend()), stack, options: .defaults) { view in
                #expect(view.backend == "kernel")
                try Footprint.record(probe: "test", view: view, workPath: stack.workPath, parameters: [:], book: book)
            }
            let figures = Dictionary(uniqueKeysWithValues: book.measurements().map { ($0.metric, $0.samples[0]) })
            #expect(figures["workBytes"] == 0 && figures["workInodes"] == 0)
            #expect((figures["upperBytes"] ?? 0) >= 5000, "the flattened tree is the upper")
        }
    }

    func row(_ backend: String, fs: String = "root", options: String = "") -> ChooseRunner.Row {
        ChooseRunner.Row(backend: backend, mountOptions: options, fs: fs, traceNanoseconds: 2_000_000, failedOperations: 0,
                         upperBytes: 0, upperInodes: 0, copyUpFixedMicroseconds: 900, copyUpMicrosecondsPerMiB: 2000,
                         lookupNanosecondsPerLayer: nil)
    }

    @Test("choose explains each rank from the backend's capabilities")
    func chooseReasons() {
        func reason(_ row: ChooseRunner.Row) -> String { ChooseRanking.reason(row, profile: "build") }
        #expect(reason(row("plain")).contains("no copy-up at all"))
        #expect(reason(row("fuse")).contains("fuse: copy-up skips fsync, but every operation crosses to a user-space daemon"))
        #expect(reason(row("reference")).contains("in-process reference overlay: no mount"))
        #expect(reason(row("kernel", fs: "xfs")).contains("xfs reflink makes copy-up O(1) (2000 µs/MiB)"))
        #expect(reason(row("kernel")).contains("kernel defaults: copy-up copies data and fsyncs (2000 µs/MiB)"))
        let erofs = reason(row("erofs", fs: "xfs"))
        #expect(erofs.contains("lower layers are read-only erofs images"), "\(erofs)")
        #expect(erofs.contains("erofs copy-up cannot clone, so xfs's reflink does not help"), "\(erofs)")
        #expect(!erofs.contains("reflink makes copy-up O(1)"), "\(erofs)")
        #expect(reason(row("erofs")).contains("kernel defaults: copy-up copies data and fsyncs"))
        #expect(reason(row("erofs", options: "volatile")).contains("volatile skips the copy-up fsync"))
        var slower = row("kernel")
        slower.rank = 2
        var fastest = row("plain")
        fastest.traceNanoseconds = 1_000_000
        // Without the repetitions there is no interval: the ratio alone.
        #expect(ChooseRanking.lead(slower, fastest: fastest) == "2.00× the fastest")
    }

    @Test("the cold-lookup caveat follows keepsOwnNodeCache: fuse gets it, erofs and kernel do not")
    func coldLookupCaveat() {
        let environment = RunEnvironment.capture(workRoot: "/var/tmp", commandLine: [])
        func caveat(_ backend: String) -> Bool {
            let lookup = OverlaySuite.Measurement(probe: "lookup", backend: backend, metric: "stat", unit: "ns",
                                                  parameters: ["cache": "cold", "depth": 4], samples: [1, 2])
            return ReportCaveat.caveats(environment, [lookup]).contains { $0.scope == .coldFuseLookups }
        }
        #expect(caveat("fuse"))
        #expect(!caveat("erofs") && !caveat("kernel") && !caveat("plain"))
    }

    @Test("setup facts travel with the mount record, and a record without them still decodes")
    func setupFacts() throws {
        let facts = [
            SetupFact(name: "erofsImageBytes", layer: 0, value: 8192, unit: "bytes", note: "file-backed"),
            SetupFact(name: "erofsBuildTime", layer: 0, value: 3_000_000, unit: "ns"),
            SetupFact(name: "erofsImageBytes", layer: 1, value: 4096, unit: "bytes", note: "file-backed"),
            SetupFact(name: "erofsBuildTime", layer: 1, value: 1_000_000, unit: "ns"),
        ]
        let record = RunEnvironment.MountRecord(backend: "erofs", probe: "lookup", requestedOptions: "", effectiveOptions: "",
                                                method: "file-backed erofs lowers, mount(2)", layers: 2, setup: facts)
        let decoded = try JSONDecoder().decode(RunEnvironment.MountRecord.self, from: try JSONEncoder().encode(record))
        #expect(decoded == record && decoded.setup == facts)
        #expect(record.setupSummary == "2 erofs image(s) (file-backed), 12KiB in all (4KiB to 8KiB), built in 4.00 ms (1.00 ms to 3.00 ms each)")
        let old = #"{"backend":"kernel","probe":"lookup","requestedOptions":"","effectiveOptions":"","method":"mount(2)","layers":1}"#
        let kernel = try JSONDecoder().decode(RunEnvironment.MountRecord.self, from: Data(old.utf8))
        #expect(kernel.setup == nil && kernel.setupSummary == nil)
        let none = RunEnvironment.MountRecord(backend: "kernel", probe: "p", requestedOptions: "", effectiveOptions: "", method: "m", layers: 1)
        #expect(!String(decoding: try JSONEncoder().encode(none), as: UTF8.self).contains("setup"), "no empty setup in result files")
    }
}
