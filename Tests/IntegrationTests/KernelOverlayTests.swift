import Foundation
@testable import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("Kernel overlay backend", .serialized, Gate.kernelOverlay.trait)
struct KernelOverlayTests {
    let spec = LayerStackSpec(layerCount: 2, seed: 3, files: [
        FileSpec(path: "dir/lower.bin", size: 70_000, layer: 1),
        FileSpec(path: "dir/shadow", size: 10, layer: 0),
        FileSpec(path: "dir/shadow", size: 20, layer: 1),
    ])

    @Test("mounts, copies up a lower file on write, reads options back, and unmounts")
    func mountAndCopyUp() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: spec).build(in: run)
            try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { (view: any MergedView) throws in
                #expect(view.mountMethod == "mount(2)")
                #expect(view.effectiveOptions.contains("upperdir=\(stack.upperPath)"))
                // The topmost layer wins a shadowed name.
                #expect(try view.root.status(of: "dir/shadow").size == 10)
                #expect(!FileManager.default.fileExists(atPath: stack.upperPath + "/dir/lower.bin"))
                let fd = try view.open("dir/lower.bin", .writeOnly, mode: 0)
                fd.closeIgnoringErrors()
                // Copy-up at open: the whole file is in upper, with its parent directory.
                let upper = try FileDescriptor.currentWorkingDirectory.status(of: stack.upperPath + "/dir/lower.bin")
                #expect(upper.size == 70_000)
                #expect(overlayMountPoints().contains(stack.mergedPath))
            }
        }
    }

    @Test("paths with ':', ',', '\\\\' and spaces are escaped correctly", arguments: [" a:b,c", " back\\slash"])
    func awkwardPaths(suffix: String) throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot(named: suffix) { root in
            #expect(root.path.hasSuffix(suffix))
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: spec).build(in: run)
            try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { (view: any MergedView) throws in
                #expect(try view.root.status(of: "dir/lower.bin").size == 70_000)
                #expect(overlayMountPoints().contains(stack.mergedPath))
            }
        }
    }

    @Test("a stack whose options exceed one page mounts with fsconfig(lowerdir+), up to 500 layers")
    func deepStack() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let deep = LayerStackSpec(layerCount: 500, seed: 1, files: [FileSpec(path: "bottom", size: 5, layer: 499)])
            let stack = try LayerStackBuilder(spec: deep).build(in: run)
            try withMergedView(KernelOverlayBackend(), stack, options: try OverlayMountOptions(parsing: "volatile")) { (view: any MergedView) throws in
                #expect(view.mountMethod == "fsconfig(lowerdir+)")
                #expect(try view.root.status(of: "bottom").size == 5)
                #expect(view.effectiveOptions.contains("volatile"))
            }
        }
    }

    @Test("Docker's relative l/ links mount from a child in the overlay2 directory; this process's directory is untouched")
    func relativeLinksLeaveTheWorkingDirectoryAlone() throws {
        try Gate.kernelOverlay.require()
        let before = try FileSystem.currentDirectory()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: spec).build(in: run)
            try withMergedView(KernelOverlayBackend(method: .relativeLinks), stack, options: .defaults) { (view: any MergedView) throws in
                #expect(view.mountMethod == "mount(8) with relative l/ links")
                #expect(try view.root.status(of: "dir/shadow").size == 10)
                #expect(try view.root.status(of: "dir/lower.bin").size == 70_000)
                // The kernel resolved the short names from the overlay2 directory.
                #expect(view.effectiveOptions.contains("lowerdir=l/"))
            }
        }
        #expect(try FileSystem.currentDirectory() == before)
    }

    @Test("a failed mount leaves nothing mounted and says why")
    func failedMount() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: spec).build(in: run)
            try FileManager.default.removeItem(atPath: stack.workPath)
            do {
                _ = try KernelOverlayBackend().mount(stack, options: .defaults)
                Issue.record("mount without a work directory succeeded")
            } catch let error as SystemError {
                #expect(error.operation == "mount")
                #expect(error.path == stack.mergedPath)
            }
        }
    }

    @Test("the copy-up probe verifies every sample and records all three metrics")
    func copyUpProbe() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let run = try root.makeRunDirectory()
            var configuration = CopyUpProbe.Configuration()
            configuration.sizes = [0, 4096, 1 << 20]
            configuration.sampling.samples = 3
            configuration.sampling.caches = [.warm, .cold]
            let probe = CopyUpProbe(configuration: configuration, backends: [KernelOverlayBackend()], log: ProgressLog(level: .quiet))
            let book = SampleBook()
            var mounts: [RunEnvironment.MountRecord] = []
            try probe.run(in: run, book: book, mounts: &mounts)
            // Timings only: the upper and work footprint (scope=run) is recorded beside them.
            // The overhead ratio is one figure per size, derived from firstWrite and control.
            let all = book.measurements()
            let measurements = all.filter { $0.parameters["scope"] == nil && $0.unit == "ns" }
            #expect(measurements.count == 3 * 4 * 2)
            for m in measurements {
                #expect(m.samples.count == 3)
                #expect(m.unit == "ns")
                #expect(m.summary!.min > 0)
            }
            #expect(Set(measurements.map(\.metric)) == ["firstWrite", "secondWrite", "open", "control"])
            #expect(all.filter { $0.metric == "overhead" }.count == 3 * 2)
            // Each first write's upper file, mapped with FIEMAP after the clock: a whole-file
            // copy-up holds at least the file's bytes, shared (a reflink) or its own.
            for size in configuration.sizes {
                for cache in ["warm", "cold"] {
                    func bytes(_ metric: String) -> [Double] {
                        all.first { $0.metric == metric && $0.parameters["size"]?.intValue == size && $0.parameters["cache"]?.stringValue == cache }?.samples ?? []
                    }
                    let unshared = bytes("upperUnsharedBytes"), shared = bytes("upperSharedBytes")
                    #expect(unshared.count == 3 && shared.count == 3, "size \(size) \(cache)")
                    for (own, common) in zip(unshared, shared) { #expect(own + common >= Double(size)) }
                }
            }
            #expect(mounts.count == 2)
            #expect(mounts.allSatisfy { $0.effectiveOptions.contains("lowerdir=") })
        }
    }
}
