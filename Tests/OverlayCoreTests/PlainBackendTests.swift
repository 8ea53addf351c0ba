import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("Plain directory backend", .serialized, Gate.kernelOverlay.trait)
struct PlainBackendTests {
    @Test func plainEqualsTheKernelMergedView() throws {
        try Gate.kernelOverlay.require()
        let seed: UInt64 = 11
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: shapesSpec(seed: seed)).build(in: directory)
            let merged = try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { try treeListing($0.root) }
            let plain = try withMergedView(PlainDirectoryBackend(), stack, options: .defaults) { view in
                #expect(view.mountMethod == "copy (vfs)")
                #expect(view.effectiveOptions == "")
                #expect(view.upperPath == PlainDirectoryBackend.directory(for: stack))
                // Content comes through too.
                let fd = try view.open("top", .readOnly, mode: 0)
                defer { fd.closeIgnoringErrors() }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 100, alignment: 8)
                defer { buffer.deallocate() }
                #expect(try fd.preadFully(into: buffer, at: 0) == 100)
                #expect(stack.pattern(for: "top").firstMismatch(in: UnsafeRawBufferPointer(buffer), at: 0) == nil, "seed \(seed)")
                return try treeListing(view.root)
            }
            #expect(plain == merged, "seed \(seed)")
            #expect(!plain.contains("gone") && !plain.contains("opaque/below"), "seed \(seed)")
            // Nothing was mounted for plain.
            #expect(MountTable.current().mounts(under: directory).isEmpty)
        }
    }

    @Test func secondMountReusesTheDirectory() throws {
        try Gate.kernelOverlay.require()
        try withTemporaryDirectory { directory in
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 2, seed: 1, files: [FileSpec(path: "f", size: 1, layer: 1)])).build(in: directory)
            try withMergedView(PlainDirectoryBackend(), stack, options: .defaults) { view in
                let fd = try view.open("written", [.writeOnly, .create], mode: 0o644)
                fd.closeIgnoringErrors()
            }
            let names = try withMergedView(PlainDirectoryBackend(), stack, options: .defaults) { try treeListing($0.root) }
            #expect(names == ["f", "written"])
        }
    }
}
