import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("fuse-overlayfs backend", .serialized, Gate.fuseOverlayfs.trait)
struct FuseBackendTests {
    /// Overlay and fuse mounts below `path`, as `findmnt -t overlay,fuse.fuse-overlayfs` would list
    /// them (only below the test's own directory: other suites mount concurrently).
    static func overlayMounts(under path: String) -> [String] {
        MountTable.current().mounts(under: path)
            .filter { $0.fileSystemType == "overlay" || $0.fileSystemType == FuseOverlayBackend.fileSystemType }
            .map(\.mountPoint).sorted()
    }

    @Test func mountsServesTheMergedViewAndStopsItsDaemon() throws {
        try Gate.fuseOverlayfs.require()
        let seed: UInt64 = 23
        var pid: Int32 = 0
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: shapesSpec(seed: seed)).build(in: directory)
            #expect(Self.overlayMounts(under: directory).isEmpty)
            let listing = try withMergedView(FuseOverlayBackend(), stack, options: .defaults) { view in
                let fuse = try #require(view as? FuseMergedView)
                pid = fuse.pid
                #expect(processExists(pid))
                #expect(MountTable.current().mount(at: stack.mergedPath)?.fileSystemType == FuseOverlayBackend.fileSystemType)
                #expect(view.mountMethod.hasPrefix("fuse-overlayfs"))
                #expect(view.root.statxOnly("gone") == .noSuchFileOrDirectory, "seed \(seed)")
                return try treeListing(view.root)
            }
            #expect(Self.overlayMounts(under: directory).isEmpty)
            #expect(!processExists(pid), "fuse-overlayfs pid \(pid) is still alive")
            let kernel = try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { try treeListing($0.root) }
            #expect(listing == kernel, "seed \(seed)")
            #expect(Self.overlayMounts(under: directory).isEmpty)
        }
    }

    @Test func stopsItsDaemonWhenTheBodyThrows() throws {
        try Gate.fuseOverlayfs.require()
        struct Boom: Error {}
        var pid: Int32 = 0
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 2, seed: 1)).build(in: directory)
            #expect(throws: Boom.self) {
                try withMergedView(FuseOverlayBackend(), stack, options: .defaults) { view in
                    pid = (view as? FuseMergedView)?.pid ?? 0
                    throw Boom()
                }
            }
            #expect(Self.overlayMounts(under: directory).isEmpty)
        }
        #expect(pid > 0)
        #expect(!processExists(pid), "fuse-overlayfs pid \(pid) is still alive")
    }

    @Test func refusesPathsItCannotEscape() throws {
        try Gate.fuseOverlayfs.require()
        try withTemporaryDirectory(prefix: "overlaybench-test-a:b") { directory in
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 1, seed: 1)).build(in: directory)
            #expect(throws: BackendError.self) { _ = try FuseOverlayBackend().mount(stack, options: .defaults) }
        }
    }

    @Test func versionIsRecorded() throws {
        try Gate.fuseOverlayfs.require()
        #expect(FuseOverlayBackend.version()?.hasPrefix("fuse-overlayfs") == true)
    }
}
