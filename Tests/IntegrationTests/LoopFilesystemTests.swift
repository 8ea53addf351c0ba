import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("Loop-device filesystems", .serialized, Gate.loopDevices.trait)
struct LoopFilesystemTests {
    // Only this suite's own (its work roots' names end in these): other suites attach and mount
    // in parallel; `.ci/run` compares the whole lists before and after the test suite.
    static func ours(_ path: String) -> Bool { ["loopfs/", "loopjanitor/", "reflink/"].contains { path.contains($0) } }
    static func loops() -> [String] {
        LoopDevice.attached().filter { ours($0.backingFile) }.map { "\($0.device) \($0.backingFile)" }.sorted()
    }
    static func mounts() -> [String] { MountTable.current().entries.map(\.mountPoint).filter(ours).sorted() }

    @Test("each kind is made, mounted, recorded, and torn down leaving no loop device or mount",
          arguments: [BackingFilesystemKind.ext4, .xfs, .xfsNoReflink, .btrfs, .tmpfs])
    func makeAndTearDown(kind: BackingFilesystemKind) throws {
        try Gate.loopDevices.require()
        if case .unavailable(let why) = LoopFilesystem.availability(of: kind) {
            if Gate.inCI { Issue.record("\(kind.rawValue): \(why)") }
            return
        }
        let loopsBefore = Self.loops()
        let mountsBefore = Self.mounts()
        try withWorkRoot(named: "loopfs") { root in
            let session = try RunSession(workRootPath: root.path, commandLine: ["test"], log: ProgressLog(level: .quiet))
            let directory = try session.directory(for: kind, size: 512 << 20)
            let entry = try #require(MountTable.current().mount(at: directory))
            #expect(entry.fileSystemType == kind.fileSystemType)
            let recorded = try #require(session.environment.backingFilesystems.first { $0.name == kind.rawValue })
            #expect(recorded.mkfsOptions?.isEmpty == false)
            // mkfs.ext4 makes a journal by default; the other kinds have no jbd2 journal to report.
            #expect(recorded.journal == (kind == .ext4 ? true : nil), "journal recorded as \(String(describing: recorded.journal))")
            if kind.usesLoopDevice {
                let device = try #require(session.filesystems.first?.device)
                #expect(LoopDevice.backingFile(of: device)?.hasPrefix(session.runDirectory + "/") == true)
                // Direct I/O to the image: nothing the run writes is cached twice.
                #expect(LoopDevice.directIO(of: device) == true)
                #expect(recorded.loopDirectIO == true)
                #expect(Janitor.recordedLoops(session.loopStatePath) == [device])
            }
            session.tearDown()
            #expect(!FileManager.default.fileExists(atPath: session.loopStatePath))
        }
        #expect(Self.loops() == loopsBefore)
        #expect(Self.mounts() == mountsBefore)
    }

    @Test("cleanup detaches a loop left by a run that died, and only loops backed inside the work root")
    func janitorDetachesLeftovers() throws {
        try Gate.loopDevices.require()
        let loopsBefore = Self.loops()
        let mountsBefore = Self.mounts()
        try withWorkRoot(named: "loopjanitor") { root in
            let run = try root.makeRunDirectory()
            let statePath = Janitor.loopStatePath(workRoot: root, run: run)
            // A run that is killed after attaching and mounting: nothing tears it down.
            let made = try LoopFilesystem.make(.ext4, size: 512 << 20, in: run) { device in
                try? FileManager.default.createDirectory(atPath: root.path + "/state", withIntermediateDirectories: true)
                #expect((try? FileSystem.writeAtomically(Array((device + "\n").utf8), to: statePath, replacing: true)) != nil)
            }
            let device = try #require(made.device)
            let (unmounted, _) = Janitor.cleanAll(root, log: ProgressLog(level: .quiet))
            #expect(unmounted >= 1)
            #expect(LoopDevice.backingFile(of: device) == nil)
            #expect(!FileManager.default.fileExists(atPath: statePath))
        }
        #expect(Self.loops() == loopsBefore)
        #expect(Self.mounts() == mountsBefore)
    }

    @Test("on xfs with reflink=1 copy-up clones, in the kernel and in the reference: a 64 MiB copy-up allocates almost nothing",
          arguments: ["kernel", "reference"])
    func xfsReflinkCopyUpShares(backend: String) throws {
        try Gate.loopDevices.require()
        if backend == "kernel" { try Gate.kernelOverlay.require() }
        let loopsBefore = Self.loops()
        try withWorkRoot(named: "reflink") { root in
            let session = try RunSession(workRootPath: root.path, commandLine: ["test"], log: ProgressLog(level: .quiet))
            defer { session.tearDown() }
            let directory = try session.directory(for: .xfs, size: 1 << 30)
            let size: Int64 = 64 << 20
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 1, seed: 5, files: [
                FileSpec(path: "big", size: size, layer: 0),
            ])).build(in: directory)
            PageCache.sync()
            let before = try Host.freeSpace(at: directory).bytes
            try withMergedView(try BackendKind.make(identifier: backend), stack, options: .defaults) { view in
                let fd = try view.open("big", .writeOnly, mode: 0)
                try fd.closeChecked(path: "big")
            }
            PageCache.sync()
            let upper = try FileDescriptor.currentWorkingDirectory.status(of: stack.upperPath + "/big")
            #expect(upper.size == size)
            let used = before - (try Host.freeSpace(at: directory).bytes)
            // A data copy would take 64 MiB of free space; a clone takes metadata only.
            #expect(used < size / 8, "\(backend) copy-up used \(used) bytes on xfs reflink=1")
            let lower = try FileDescriptor.open(stack.lowerLayers[0].diff + "/big", .readOnly)
            defer { lower.closeIgnoringErrors() }
            let copy = try FileDescriptor.open(stack.upperPath + "/big", .readOnly)
            defer { copy.closeIgnoringErrors() }
            var a = [UInt8](repeating: 0, count: 1 << 20), b = a
            for offset in stride(from: Int64(0), to: size, by: 16 << 20) {
                let n = try a.withUnsafeMutableBytes { try lower.preadFully(into: $0, at: offset) }
                let m = try b.withUnsafeMutableBytes { try copy.preadFully(into: $0, at: offset) }
                #expect(n == m && a == b, "\(backend): the copy differs at \(offset)")
            }
        }
        #expect(Self.loops() == loopsBefore)
    }
}
