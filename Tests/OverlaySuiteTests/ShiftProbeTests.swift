import Foundation
import OverlayCore
@testable import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The shift probe on the kernel overlay and fuse-overlayfs: every method each can do is
/// sampled and verified by the probe itself (every name shows its owner shifted, the first
/// write's copy has the owner each mechanism stores), the others are skipped with a reason,
/// and nothing stays mounted. No timing is asserted.
@Suite("Shift probe", .serialized, Gate.idmappedMounts.trait, Gate.fuseOverlayfs.trait)
struct ShiftProbeTests {
    static let files = 30, perDirectory = 10, fileSize: Int64 = 64 << 10

    func run(in directory: String) throws -> (measurements: [OverlaySuite.Measurement], mounts: [RunEnvironment.MountRecord]) {
        var configuration = ShiftProbe.Configuration()
        configuration.sampling.samples = 2
        configuration.sampling.warmup = 0
        configuration.files = Self.files
        configuration.filesPerDirectory = Self.perDirectory
        configuration.fileSize = Self.fileSize
        configuration.layers = 2
        let book = SampleBook()
        var mounts: [RunEnvironment.MountRecord] = []
        try ShiftProbe(configuration: configuration, backends: [KernelOverlayBackend(), FuseOverlayBackend()],
                       log: ProgressLog(level: .quiet)).run(in: directory, book: book, mounts: &mounts)
        return (book.measurements(), mounts)
    }

    func find(_ all: [OverlaySuite.Measurement], _ backend: String, _ method: String, _ metric: String) throws -> OverlaySuite.Measurement {
        try #require(all.first { $0.backend == backend && $0.metric == metric && $0.parameters["method"]?.stringValue == method },
                     "no \(metric) for \(backend) \(method)")
    }

    @Test("chown -R copies every name up, metacopy only inodes, idmapped layers and uidmapping nothing")
    func methods() throws {
        try Gate.idmappedMounts.require()
        try Gate.fuseOverlayfs.require()
        try withTemporaryDirectory { directory in
            let (all, mounts) = try run(in: directory)
            #expect(MountTable.current().mounts(under: directory).isEmpty)

            let done = [("kernel", "chown"), ("kernel", "chown-metacopy"), ("kernel", "idmapped-layers"), ("fuse", "chown"), ("fuse", "uidmapping")]
            for (backend, method) in done {
                for metric in ["ready", "mount", "shift", "firstWrite", "upperBytes", "upperInodes"] {
                    #expect(try find(all, backend, method, metric).samples.count == 2, "\(backend) \(method) \(metric)")
                }
            }
            for (backend, method) in [("kernel", "uidmapping"), ("fuse", "chown-metacopy"), ("fuse", "idmapped-layers")] {
                let skipped = try find(all, backend, method, "ready")
                #expect(skipped.skipped?.contains("cannot \(method)") == true)
            }
            // Each way of mounting is on record once; the idmapped one says how.
            #expect(mounts.count == done.count)
            #expect(mounts.contains { $0.method.contains("idmapped lowers (mount_setattr, 0:100000:65536)") })

            // The upper root is not counted: the names below it are the directories and files.
            let names = Double(Self.files / Self.perDirectory + Self.files)
            for (backend, method) in [("kernel", "chown"), ("kernel", "chown-metacopy"), ("fuse", "chown")] {
                #expect(try find(all, backend, method, "upperInodes").samples.allSatisfy { $0 == names }, "\(backend) \(method)")
            }
            let full = try find(all, "kernel", "chown", "upperBytes").samples
            let metacopy = try find(all, "kernel", "chown-metacopy", "upperBytes").samples
            #expect(full.allSatisfy { $0 >= Double(Self.files) * Double(Self.fileSize) })
            #expect(metacopy.allSatisfy { $0 < Double(Self.files) * Double(Self.fileSize) / 2 })
            for (backend, method) in [("kernel", "idmapped-layers"), ("fuse", "uidmapping")] {
                #expect(try find(all, backend, method, "upperBytes").samples.allSatisfy { $0 == 0 }, "\(backend) \(method)")
                #expect(try find(all, backend, method, "upperInodes").samples.allSatisfy { $0 == 0 }, "\(backend) \(method)")
            }
        }
    }

    @Test("a method is skipped for what a backend's capabilities lack, never for its name")
    func capabilityReasons() {
        #expect(ShiftProbe.Method.chown.unsupported(by: KernelOverlayBackend.capabilities) == nil)
        #expect(ShiftProbe.Method.idmappedLayers.unsupported(by: KernelOverlayBackend.capabilities) == nil)
        #expect(ShiftProbe.Method.uidmapping.unsupported(by: FuseOverlayBackend.capabilities) == nil)
        #expect(ShiftProbe.Method.chownMetacopy.unsupported(by: FuseOverlayBackend.capabilities) != nil)
        #expect(ShiftProbe.Method.chown.unsupported(by: BackendKind.reference.capabilities) == "no merged directory to walk")
        #expect(ShiftProbe.Method.chown.unsupported(by: ErofsOverlayBackend.capabilities) != nil)
        #expect(ShiftProbe.Method.chown.unsupported(by: BtrfsSnapshotBackend.capabilities) != nil)
        #expect(ShiftProbe.Method.chown.unsupported(by: PlainDirectoryBackend.capabilities) == nil)
        #expect(throws: ProbeError.self) { try ShiftProbe.Method.parseList("chown,bogus") }
        #expect(try! ShiftProbe.Method.parseList("uidmapping,chown,uidmapping") == [.uidmapping, .chown])
    }

    @Test("chown -R never follows a symlink out of the tree", Gate.root.trait)
    func walkStaysInside() throws {
        try Gate.root.require()
        try withTemporaryDirectory { directory in
            let cwd = FileDescriptor.currentWorkingDirectory
            try cwd.makeDirectory(directory + "/outside")
            try Data("o".utf8).write(to: URL(fileURLWithPath: directory + "/outside/f"))
            try cwd.makeDirectory(directory + "/tree")
            try cwd.makeDirectory(directory + "/tree/d")
            try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/tree/d/f"))
            try cwd.makeSymlink(directory + "/tree/d/escape", target: directory + "/outside")
            let root = try FileDescriptor.open(directory + "/tree", [.readOnly, .directory])
            defer { root.closeIgnoringErrors() }
            let mapping = IDMapping(inside: 0, outside: 100_000, count: 65_536)
            #expect(try ChownWalk.shift(root, by: mapping) == 4)
            #expect(try ChownWalk.check(root, against: [directory + "/tree"], mapping: IDMapping(inside: 100_000, outside: 100_000, count: 1), backend: "-") == 4)
            #expect(try cwd.status(of: directory + "/tree/d/escape").uid == 100_000)
            #expect(try cwd.status(of: directory + "/outside").uid == 0)
            #expect(try cwd.status(of: directory + "/outside/f").uid == 0)
        }
    }
}
