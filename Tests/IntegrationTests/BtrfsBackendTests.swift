import Foundation
@testable import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The btrfs backend: each layer a subvolume snapshotted from the one below with its diff
/// applied, the container a writable snapshot, all on a btrfs made on a loop device for the
/// test. Each test checks that no mount, loop device or subvolume is left behind.
@Suite("btrfs backend", .serialized, Gate.btrfs.trait)
struct BtrfsBackendTests {
    /// Whiteouts in two layers, an opaque directory, merged and wide directories, a deep path,
    /// shadowed files and a 1 MiB file to write into, over three layers.
    static let spec: LayerStackSpec = {
        var spec = ErofsBackendTests.spec
        spec.files.append(FileSpec(path: "big", size: 1 << 20, layer: 1))
        return spec
    }()

    /// The merged tree as the differential oracle dumps it, directory sizes masked: a
    /// directory's size is btrfs's own bookkeeping of its names, and a snapshot's directory that
    /// had names deleted reports another size than the overlay's upper or lower one.
    static func mergedDump(_ view: any MergedView) -> [String] {
        TreeDump.merged(RootedReplayTarget(root: view.root)).map(Differential.maskingDirectorySize)
    }

    /// The subvolumes below `directory`: directories whose inode is a subvolume root's (256),
    /// the filesystem's own root excepted.
    static func subvolumes(under directory: String) throws -> [String] {
        var found: [String] = []
        var pending = [directory]
        while let path = pending.popLast() {
            let fd = try FileDescriptor.open(path, [.readOnly, .directory, .noFollow])
            defer { fd.closeIgnoringErrors() }
            for entry in try fd.entries() {
                let status = try fd.status(of: entry.name)
                guard status.type == .directory else { continue }
                if Btrfs.isSubvolumeRoot(status) { found.append(path + "/" + entry.name) }
                pending.append(path + "/" + entry.name)
            }
        }
        return found
    }

    static func hash(_ path: String) throws -> [UInt8] {
        let bytes = try FileSystem.readFile(path)
        var hasher = SHA256Hasher()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    @Test("the btrfs view equals the kernel overlay's merged view of the same layers; a write leaves the layer's subvolume unchanged")
    func mergedViewEqualsTheKernels() throws {
        try Gate.btrfs.require()
        try withWorkRoot { root in
            try withBtrfs(in: root) { btrfs in
                let run = btrfs + "/run"
                try FileSystem.makeDirectory(run)
                let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
                // The kernel overlay on the same btrfs (its copy-up clones there).
                let kernel = try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { Self.mergedDump($0) }
                let layerBig = BtrfsSnapshotBackend.subvolumePath(of: stack.lowerLayers[0], in: stack) + "/big"
                let btrfsDump = try withMergedView(BtrfsSnapshotBackend(), stack, options: .defaults) { view in
                    #expect(view.backend == "btrfs")
                    // One subvolume per lower layer and the container's; the layers read-only.
                    let made = try Self.subvolumes(under: stack.root).sorted()
                    let expected = (stack.lowerLayers + [stack.container]).map { BtrfsSnapshotBackend.subvolumePath(of: $0, in: stack) }.sorted()
                    #expect(made == expected)
                    for layer in stack.lowerLayers {
                        let fd = try FileDescriptor.open(BtrfsSnapshotBackend.subvolumePath(of: layer, in: stack), [.readOnly, .directory])
                        defer { fd.closeIgnoringErrors() }
                        #expect(try Btrfs.isReadOnly(fd))
                    }
                    #expect(view.upperPath == BtrfsSnapshotBackend.subvolumePath(of: stack.container, in: stack))
                    // Whiteouts became deletions, the opaque directory a replacement: no device, no overlay xattr.
                    let cwd = FileDescriptor.currentWorkingDirectory
                    #expect((try? cwd.status(of: view.upperPath + "/gone")) == nil)
                    #expect((try? cwd.status(of: view.upperPath + "/opaque/below")) == nil)
                    #expect(try ExtendedAttributes.get("trusted.overlay.opaque", path: view.upperPath + "/opaque") == nil)
                    // Files were cloned from the layer directories (same btrfs), none copied.
                    let facts = view.setupFacts
                    #expect(facts.filter { $0.name == "btrfsSnapshotTime" }.map(\.layer) == [2, 1, 0, nil])
                    #expect(facts.filter { $0.name == "btrfsCopiedFiles" }.allSatisfy { $0.value == 0 })
                    #expect(facts.filter { $0.name == "btrfsClonedFiles" }.map(\.value).reduce(0, +) > 0)
                    let dump = Self.mergedDump(view)
                    // The first write into a file the container shares with its image.
                    let before = try Self.hash(layerBig)
                    let fd = try view.open("big", .writeOnly, mode: 0)
                    try fd.writeAll([0xA5], at: 0)
                    try fd.closeChecked()
                    #expect(try Self.hash(layerBig) == before, "the layer's subvolume changed under a write through the container")
                    let written = try FileSystem.readFile(view.upperPath + "/big")
                    let original = try FileSystem.readFile(layerBig)
                    #expect(written.count == 1 << 20 && written[0] == 0xA5 && written[1...] == original[1...])
                    // Only the block written is the container's own; the rest is still shared.
                    let reopened = try FileDescriptor.open(view.upperPath + "/big", .readOnly)
                    defer { reopened.closeIgnoringErrors() }
                    let sharing = try reopened.extentSharing()
                    #expect(sharing.unsharedBytes > 0 && sharing.unsharedBytes <= 128 << 10, "\(sharing)")
                    #expect(sharing.sharedBytes >= (1 << 20) - (128 << 10), "\(sharing)")
                    return dump
                }
                #expect(!kernel.isEmpty)
                #expect(btrfsDump == kernel)
                #expect(!btrfsDump.contains { $0.hasPrefix("gone ") || $0.hasPrefix("opaque/below ") })
                // Nothing left as a subvolume, and the subvolumes directory is gone.
                #expect(try Self.subvolumes(under: btrfs).isEmpty)
                #expect(!FileSystem.exists(stack.root + "/" + BtrfsSnapshotBackend.subvolumeDirectory))
            }
            #expect(ErofsBackendTests.leftovers(under: root.path).isEmpty, "left behind: \(ErofsBackendTests.leftovers(under: root.path))")
        }
    }

    @Test("a failure part-way through the layers (a name taken in the subvolume directory) deletes the subvolumes already made")
    func failureAmongTheLayers() throws {
        try Gate.btrfs.require()
        try withWorkRoot { root in
            try withBtrfs(in: root) { btrfs in
                let run = btrfs + "/run"
                try FileSystem.makeDirectory(run)
                let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
                // The bottom layer (2) is made first; the middle one's name is taken.
                let directory = stack.root + "/" + BtrfsSnapshotBackend.subvolumeDirectory
                try FileSystem.makeDirectory(directory, mode: 0o700)
                try FileSystem.makeDirectory(BtrfsSnapshotBackend.subvolumePath(of: stack.lowerLayers[1], in: stack))
                #expect(throws: SystemError.self) {
                    _ = try BtrfsSnapshotBackend().mount(stack, options: .defaults)
                }
                let left = try Self.subvolumes(under: btrfs)
                #expect(left.isEmpty, "left: \(left)")
                #expect(try FileSystem.entries(directory) == [stack.lowerLayers[1].id], "only the blocker is left")
            }
            #expect(ErofsBackendTests.leftovers(under: root.path).isEmpty, "left behind: \(ErofsBackendTests.leftovers(under: root.path))")
        }
    }

    @Test("a stack that is not on btrfs is refused in one line that says how to get one")
    func notOnBtrfs() throws {
        try Gate.btrfs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            try #require(BtrfsSnapshotBackend.unsupportedLocation(run) != nil, "the test work root is itself on btrfs")
            let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
            do {
                _ = try BtrfsSnapshotBackend().mount(stack, options: .defaults)
                Issue.record("mounted a btrfs view on a filesystem that is not btrfs")
            } catch let error as BackendError {
                #expect("\(error)".contains("not btrfs: give --fs btrfs"), "\(error)")
                #expect(!"\(error)".contains("\n"))
            }
            #expect(!FileSystem.exists(stack.root + "/" + BtrfsSnapshotBackend.subvolumeDirectory))
        }
    }
}

/// `run --backend btrfs` refuses, before generating anything, a work root that is not on btrfs
/// without `--fs btrfs`, in one line. Needs no root: it is argument validation.
@Suite("btrfs backend on the command line")
struct BtrfsCommandLineTests {
    @Test("--backend btrfs on a work root that is not btrfs, without --fs btrfs, fails in one line naming --fs btrfs")
    func refusesAWorkRootThatIsNotBtrfs() throws {
        let workRoot = "/var/tmp/overlaybench-never-created-btrfs"
        guard BtrfsSnapshotBackend.unsupportedLocation(workRoot) != nil else { return }
        let outcome = try runOverlayBench(["run", "copyup", "--backend", "btrfs,kernel", "--sizes", "4KiB", "--samples", "1", "--work-root", workRoot])
        #expect(outcome.status != 0)
        let lines = outcome.stderr.split(separator: "\n").filter { $0.contains("btrfs") }
        #expect(lines.count == 1, "\(outcome.stderr)")
        #expect(lines.first?.contains("--backend btrfs needs btrfs, and the work root \(workRoot) is not: give --fs btrfs") == true, "\(outcome.stderr)")
        #expect(!FileSystem.exists(workRoot))
        // A made filesystem of another kind is refused the same way.
        let ext4 = try runOverlayBench(["run", "copyup", "--backend", "btrfs", "--fs", "ext4", "--sizes", "4KiB", "--work-root", workRoot])
        #expect(ext4.status != 0 && ext4.stderr.contains("--fs ext4 is not: give --fs btrfs"), "\(ext4.stderr)")
    }
}
