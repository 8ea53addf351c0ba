import Foundation
@testable import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// The erofs backend: lower layers turned into EROFS images, mounted read-only (file-backed, or
/// through loop devices), under a kernel overlay. Each test checks that it leaves no mount and
/// no loop device behind, after success and after a failure part-way through setting up.
@Suite("EROFS backend", .serialized, Gate.erofs.trait)
struct ErofsBackendTests {
    /// Whiteouts (in two layers), an opaque directory, merged and wide directories, a deep path
    /// and files with content, over three layers.
    static let spec: LayerStackSpec = {
        let shapes = StackShapes(
            whiteouts: [.init(path: "gone", layer: 0), .init(path: "dir/gone", layer: 1)],
            opaqueDirectories: [.init(path: "opaque", layer: 1, files: 2)],
            mergedDirectories: [.init(path: "merged", filesPerLayer: 2)],
            wideDirectories: [.init(path: "wide", entriesPerLayer: 5)],
            deepPaths: [.init(path: "merged", levels: 4, layer: 2)])
        let files = [
            FileSpec(path: "gone", size: 10, layer: 2),
            FileSpec(path: "dir/gone", size: 10, layer: 2),
            FileSpec(path: "dir/kept", size: 70_000, layer: 2),
            FileSpec(path: "opaque/below", size: 10, layer: 2),
            FileSpec(path: "top", size: 5000, layer: 0),
            FileSpec(path: "shadowed", size: 100, layer: 0),
            FileSpec(path: "shadowed", size: 200, layer: 1),
        ]
        return LayerStackSpec(layerCount: 3, seed: 17, files: files, shapes: shapes)
    }()

    /// The merged tree as the differential oracle dumps it (types, modes, owners, sizes, content
    /// hashes, `user.*` xattrs). A directory's size is its filesystem's own bookkeeping (ext4
    /// reports a block, EROFS the bytes of its entries), so it is left out of the comparison.
    static func mergedDump(_ view: any MergedView) -> [String] {
        TreeDump.merged(RootedReplayTarget(root: view.root)).map(Differential.maskingDirectorySize)
    }

    /// Mounts below `directory` and loop devices backed by files below it.
    static func leftovers(under directory: String) -> [String] {
        MountTable.current().mounts(under: directory).map { "\($0.fileSystemType) at \($0.mountPoint)" }
            + LoopDevice.attached().filter { $0.backingFile.hasPrefix(directory + "/") }.map { "\($0.device) on \($0.backingFile)" }
    }

    @Test("the merged view over EROFS images equals the kernel overlay's over the same layers, whiteouts and opaque directories included",
          arguments: [ErofsLayerImage.MountMethod.automatic, .loopDevice])
    func mergedViewEqualsTheKernels(_ method: ErofsLayerImage.MountMethod) throws {
        try Gate.erofs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
            let kernel = try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { Self.mergedDump($0) }
            let erofs = try withMergedView(ErofsOverlayBackend(imageMount: method), stack, options: .defaults) { view in
                #expect(view.backend == "erofs")
                // One image per lower layer, each mounted read-only as erofs, top layer first.
                let mounts = MountTable.current()
                for layer in stack.lowerLayers {
                    let mount = try #require(mounts.mount(at: layer.directory + "/erofs"), "\(layer.directory)/erofs is not mounted")
                    #expect(mount.fileSystemType == "erofs" && mount.mountOptions.split(separator: ",").contains("ro"))
                    switch method {
                    case .loopDevice: #expect(mount.source.hasPrefix("/dev/loop"))
                    default: #expect(mount.source == layer.directory + "/layer.erofs" || mount.source.hasPrefix("/dev/loop"))
                    }
                }
                #expect(view.effectiveOptions.contains("lowerdir=" + stack.lowerLayers.map { $0.directory + "/erofs" }.joined(separator: ":")))
                // mkfs.erofs kept the whiteout devices and the opaque xattr the overlay needs.
                let top = try FileDescriptor.currentWorkingDirectory.status(of: stack.lowerLayers[0].directory + "/erofs/gone")
                #expect(top.isWhiteoutDevice)
                #expect(try ExtendedAttributes.get("trusted.overlay.opaque", path: stack.lowerLayers[1].directory + "/erofs/opaque") == Array("y".utf8))
                // Each image's size and build time, per layer.
                let facts = view.setupFacts
                #expect(facts.filter { $0.name == "erofsImageBytes" }.map(\.layer) == [0, 1, 2])
                #expect(facts.filter { $0.name == "erofsBuildTime" }.map(\.layer) == [0, 1, 2])
                #expect(facts.allSatisfy { $0.value > 0 })
                let notes = facts.compactMap(\.note)
                #expect(notes.count == 3 && notes.allSatisfy { $0 == "file-backed" || $0.hasPrefix("loop /dev/loop") })
                if method == .loopDevice { #expect(notes.allSatisfy { $0.hasPrefix("loop /dev/loop") }) }
                #expect(view.mountMethod.hasSuffix("erofs lowers, mount(2)"), "\(view.mountMethod)")
                // A write copies up from the image into the upper on the work root.
                let fd = try view.open("dir/kept", .writeOnly, mode: 0)
                try fd.closeChecked()
                #expect(try FileDescriptor.currentWorkingDirectory.status(of: stack.upperPath + "/dir/kept").size == 70_000)
                return Self.mergedDump(view)
            }
            #expect(!kernel.isEmpty)
            #expect(erofs == kernel)
            #expect(!erofs.contains { $0.hasPrefix("gone ") || $0.hasPrefix("opaque/below ") })
            #expect(Self.leftovers(under: root.path).isEmpty, "left behind: \(Self.leftovers(under: root.path))")
        }
    }

    @Test("a failure part-way through the images (a mount point that is a file) unmounts the images already mounted",
          arguments: [ErofsLayerImage.MountMethod.automatic, .loopDevice])
    func failureAmongTheImages(_ method: ErofsLayerImage.MountMethod) throws {
        try Gate.erofs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
            let blocker = stack.lowerLayers[1].directory + "/erofs"
            try FileDescriptor.open(blocker, [.writeOnly, .create, .exclusive], mode: 0o644).closeChecked()
            #expect(throws: SystemError.self) {
                _ = try ErofsOverlayBackend(imageMount: method).mount(stack, options: .defaults)
            }
            // Layer 0 was built and mounted before layer 1 failed; layer 2 was never reached.
            #expect(FileSystem.exists(stack.lowerLayers[0].directory + "/layer.erofs"))
            #expect(!FileSystem.exists(stack.lowerLayers[2].directory + "/layer.erofs"))
            #expect(Self.leftovers(under: root.path).isEmpty, "left behind: \(Self.leftovers(under: root.path))")
        }
    }

    @Test("a failure of the overlay mount after every image is mounted unmounts them all",
          arguments: [ErofsLayerImage.MountMethod.automatic, .loopDevice])
    func failureOfTheOverlay(_ method: ErofsLayerImage.MountMethod) throws {
        try Gate.erofs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: Self.spec).build(in: run)
            try FileDescriptor.currentWorkingDirectory.unlink(stack.mergedPath, directory: true)
            #expect(throws: SystemError.self) {
                _ = try ErofsOverlayBackend(imageMount: method).mount(stack, options: .defaults)
            }
            #expect(stack.lowerLayers.allSatisfy { FileSystem.exists($0.directory + "/layer.erofs") })
            #expect(Self.leftovers(under: root.path).isEmpty, "left behind: \(Self.leftovers(under: root.path))")
        }
    }

    @Test("a stack too deep for one page of mount data mounts with lowerdir+, and by relative e/ links where forced")
    func deepStacks() throws {
        try Gate.erofs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let deep = LayerStackSpec(layerCount: 128, seed: 2, files: [FileSpec(path: "bottom", size: 5, layer: 127)])
            let stack = try LayerStackBuilder(spec: deep).build(in: run)
            try withMergedView(ErofsOverlayBackend(), stack, options: .defaults) { view in
                #expect(view.mountMethod.hasSuffix("erofs lowers, fsconfig(lowerdir+)"), "\(view.mountMethod)")
                let bottom = try view.root.status(of: "bottom")
                #expect(bottom.size == 5)
                #expect(view.setupFacts.filter { $0.name == "erofsImageBytes" }.count == 128)
            }
            let shallow = try root.makeRunDirectory()
            let small = try LayerStackBuilder(spec: Self.spec).build(in: shallow)
            for forced in [KernelMountMethod.relativeLinks, .lowerdirPlus] {
                try withMergedView(ErofsOverlayBackend(imageMount: .automatic, overlayMethod: forced), small, options: .defaults) { view in
                    #expect(view.mountMethod.hasSuffix(forced == .relativeLinks ? "mount(8) with relative e/ links" : "fsconfig(lowerdir+)"),
                            "\(view.mountMethod)")
                    let kept = try view.root.status(of: "dir/kept")
                    #expect(kept.size == 70_000)
                }
            }
            #expect(Self.leftovers(under: root.path).isEmpty, "left behind: \(Self.leftovers(under: root.path))")
        }
    }

    @Test("the lookup and read probes run on erofs beside kernel, and record each image's size and build time")
    func probesRecordSetupFacts() throws {
        try Gate.erofs.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            var lookup = LookupProbe.Configuration()
            lookup.depths = [1, 4]
            lookup.sampling.samples = 2
            lookup.sampling.warmup = 0
            lookup.sampling.caches = [.warm, .cold]
            lookup.widths = []
            var read = ReadProbe.Configuration()
            read.size = 64 << 10
            read.depth = 2
            read.randomReads = 4
            read.sampling.samples = 2
            read.sampling.warmup = 0
            let backends: [any OverlayBackend] = [ErofsOverlayBackend(), KernelOverlayBackend()]
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            try LookupProbe(configuration: lookup, backends: backends, log: ProgressLog(level: .quiet)).run(in: run, book: book, mounts: &mounts)
            try ReadProbe(configuration: read, backends: backends, log: ProgressLog(level: .quiet)).run(in: run, book: book, mounts: &mounts)
            let measurements = book.measurements()
            for probe in ["lookup", "read"] {
                for backend in ["erofs", "kernel"] {
                    #expect(measurements.contains { $0.probe == probe && $0.backend == backend && !$0.samples.isEmpty && $0.skipped == nil },
                            "\(probe) on \(backend)")
                }
            }
            let erofs = mounts.filter { $0.backend == "erofs" }
            // Lookup: depths 1 and 4; read: the lower and the upper place's stacks, 2 layers each.
            #expect(erofs.map(\.layers) == [1, 4, 2, 2])
            for record in erofs {
                let sizes = (record.setup ?? []).filter { $0.name == "erofsImageBytes" }
                #expect(sizes.count == record.layers && sizes.allSatisfy { $0.value > 0 })
                #expect(record.setupSummary?.contains("built in") == true)
            }
            #expect(mounts.filter { $0.backend == "kernel" }.allSatisfy { $0.setup == nil })
            #expect(Self.leftovers(under: root.path).isEmpty, "left behind: \(Self.leftovers(under: root.path))")
        }
    }
}
