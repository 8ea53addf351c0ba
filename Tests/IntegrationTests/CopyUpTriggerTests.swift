import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// What each copy-up trigger leaves in upper on the kernel overlay, and that the copy-up probe's
/// triggers, sparse files and concurrent writers verify. Semantics only, no timing.
@Suite("Copy-up triggers", .serialized, Gate.kernelOverlay.trait)
struct CopyUpTriggerTests {
    static let size: Int64 = 3 << 20

    /// A one-layer stack holding `data` (and its sparse twin `holes`), mounted with `options`.
    func withStack(options: String = "", _ body: (LayerStack, any MergedView) throws -> Void) throws {
        let spec = LayerStackSpec(layerCount: 1, seed: 9, files: [
            FileSpec(path: "data", size: Self.size, layer: 0),
            FileSpec(path: "holes", size: Self.size, layer: 0, sparse: true),
        ])
        try withWorkRoot { root in
            let stack = try LayerStackBuilder(spec: spec).build(in: try root.makeRunDirectory())
            try withMergedView(KernelOverlayBackend(), stack, options: try OverlayMountOptions(parsing: options)) { view in
                try body(stack, view)
            }
        }
    }

    func bytes(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("rdwr-open copies up at open time without changing a byte")
    func readWriteOpen() throws {
        try Gate.kernelOverlay.require()
        try withStack { stack, view in
            let fd = try view.open("data", .readWrite, mode: 0)
            try fd.closeChecked()
            let upper = stack.upperPath + "/data"
            #expect(try bytes(upper) == bytes(stack.lowerLayers[0].diff + "/data"))
        }
    }

    @Test("trunc-open leaves a 0-byte upper")
    func truncatingOpen() throws {
        try Gate.kernelOverlay.require()
        try withStack { stack, view in
            let fd = try view.open("data", [.writeOnly, .truncate], mode: 0)
            try fd.closeChecked()
            let upper = try FileDescriptor.currentWorkingDirectory.status(of: stack.upperPath + "/data")
            #expect(upper.type == .regular && upper.size == 0)
        }
    }

    @Test("a sparse file keeps its holes through copy-up")
    func sparseCopyUp() throws {
        try Gate.kernelOverlay.require()
        try withStack { stack, view in
            let fd = try view.open("holes", .writeOnly, mode: 0)
            try fd.closeChecked()
            let cwd = FileDescriptor.currentWorkingDirectory
            let lower = try cwd.status(of: stack.lowerLayers[0].diff + "/holes")
            let upper = try cwd.status(of: stack.upperPath + "/holes")
            #expect(upper.size == Self.size)
            #expect(lower.allocatedBytes < Self.size)
            #expect(upper.allocatedBytes <= lower.allocatedBytes)
            let copy = try FileDescriptor.open(stack.upperPath + "/holes", .readOnly)
            defer { copy.closeIgnoringErrors() }
            #expect(try copy.nextHole(from: 0) == FileSpec.sparseChunk)
        }
    }

    @Test("chown under metacopy=on leaves a data-less metacopy upper")
    func metacopyChown() throws {
        try Gate.kernelOverlay.require()
        try withStack(options: "metacopy=on") { stack, view in
            try view.root.changeOwner("data", uid: 4242, gid: 4242)
            let path = stack.upperPath + "/data"
            let upper = try FileDescriptor.currentWorkingDirectory.status(of: path)
            // No data blocks; ext4 may still count an external block for the overlay xattrs.
            #expect(upper.uid == 4242 && upper.size == Self.size && upper.allocatedBytes <= 4096)
            #expect(try ExtendedAttributes.get("trusted.overlay.metacopy", path: path) != nil)
        }
    }

    func runProbe(_ configure: (inout CopyUpProbe.Configuration) -> Void, options: [String] = [""]) throws -> [OverlaySuite.Measurement] {
        var configuration = CopyUpProbe.Configuration()
        configuration.sizes = [0, 4096, 3 << 20]
        configuration.sampling.samples = 2
        configuration.sampling.warmup = 0
        configure(&configuration)
        let backends = MountVariantBackend.expand([KernelOverlayBackend()], optionSets: try options.map { try OverlayMountOptions(parsing: $0) })
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            try CopyUpProbe(configuration: configuration, backends: backends, log: ProgressLog(level: .quiet))
                .run(in: run, book: book, mounts: &mounts)
            #expect(overlayMountPoints().allSatisfy { !$0.hasPrefix(root.path) })
        }
        return book.measurements()
    }

    @Test("every trigger copies up as the probe verifies, with and without metacopy", arguments: CopyUpTrigger.allCases)
    func probeTrigger(_ trigger: CopyUpTrigger) throws {
        try Gate.kernelOverlay.require()
        let all = try runProbe({ $0.trigger = trigger }, options: ["", "metacopy=on"])
        let first = trigger == .write ? "firstWrite" : "firstOp"
        let timed = all.filter { $0.metric == first }
        #expect(timed.count == 3 * 2)
        #expect(timed.allSatisfy { $0.parameters["trigger"]?.stringValue == trigger.rawValue && $0.samples.count == 2 })
        #expect(all.filter { $0.parameters["scope"]?.stringValue == "run" }.count == 4 * 2)
    }

    @Test("--sparse records the upper and lower allocation, and upper keeps the holes")
    func probeSparse() throws {
        try Gate.kernelOverlay.require()
        let all = try runProbe { $0.sparse = true; $0.sizes = [4 << 20] }
        let upper = try #require(all.first { $0.metric == "upperAllocatedBytes" })
        let lower = try #require(all.first { $0.metric == "lowerAllocatedBytes" })
        #expect(zip(upper.samples, lower.samples).allSatisfy { $0 <= $1 })
        #expect(lower.samples.allSatisfy { $0 < Double(4 << 20) })
    }

    @Test("--jobs same: every racing writer succeeds and the file is copied up once")
    func probeRace() throws {
        try Gate.kernelOverlay.require()
        // The probe fails the run unless all 4 opens succeed and upper holds one copy with every
        // writer's byte in it.
        let all = try runProbe { $0.jobs = 4; $0.jobsMode = .same }
        let race = all.filter { $0.metric == "raceLatency" }
        #expect(race.count == 3)
        #expect(race.allSatisfy { $0.samples.count == 4 * 2 && $0.parameters["jobsMode"]?.stringValue == "same" })
    }

    @Test("--jobs distinct: throughput and one latency per writer")
    func probeDistinct() throws {
        try Gate.kernelOverlay.require()
        let all = try runProbe { $0.jobs = 3; $0.jobsMode = .distinct }
        #expect(all.filter { $0.metric == "parallelFirstWrite" }.allSatisfy { $0.samples.count == 3 * 2 })
        let throughput = all.filter { $0.metric == "firstWriteThroughput" }
        #expect(throughput.count == 3 && throughput.allSatisfy { $0.unit == "files/s" && $0.samples.allSatisfy { $0 > 0 } })
    }
}
