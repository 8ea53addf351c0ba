import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// A stack with every shape, small enough for a test: 3 layers.
func shapesSpec(seed: UInt64) -> LayerStackSpec {
    let shapes = StackShapes(
        whiteouts: [.init(path: "gone", layer: 0), .init(path: "dir/gone", layer: 1)],
        opaqueDirectories: [.init(path: "opaque", layer: 1, files: 2)],
        mergedDirectories: [.init(path: "merged", filesPerLayer: 2)],
        wideDirectories: [.init(path: "wide", entriesPerLayer: 5), .init(path: "some", entriesPerLayer: 3, layers: [0, 2])],
        deepPaths: [.init(path: "merged", levels: 4, layer: 2)])
    let files = [
        FileSpec(path: "gone", size: 10, layer: 2),
        FileSpec(path: "dir/gone", size: 10, layer: 2),
        FileSpec(path: "dir/kept", size: 10, layer: 2),
        FileSpec(path: "opaque/below", size: 10, layer: 2),
        FileSpec(path: "top", size: 100, layer: 0),
    ]
    return LayerStackSpec(layerCount: 3, seed: seed, files: files, shapes: shapes)
}

/// Every path below `root` (relative, `/`-separated, directories with a trailing `/`), sorted.
func treeListing(_ directory: FileDescriptor, prefix: String = "") throws -> [String] {
    var result: [String] = []
    for entry in try directory.entries() {
        let status = try directory.status(of: entry.name)
        if status.type == .directory {
            result.append(prefix + entry.name + "/")
            let child = try FileDescriptor.open(entry.name, [.readOnly, .directory, .noFollow], relativeTo: directory)
            defer { child.closeIgnoringErrors() }
            result += try treeListing(child, prefix: prefix + entry.name + "/")
        } else {
            result.append(prefix + entry.name)
        }
    }
    return result.sorted()
}

@Suite("Generator shapes: names and validation")
struct GeneratorShapesUnitTests {
    @Test func wideNamesAreSeededAndDistinctAcrossLayers() {
        let wide = StackShapes.WideDirectory(path: "wide", entriesPerLayer: 50)
        let seed: UInt64 = 7
        #expect(wide.entryNames(inLayer: 0, seed: seed) == wide.entryNames(inLayer: 0, seed: seed), "seed \(seed)")
        #expect(wide.entryNames(inLayer: 0, seed: seed) != wide.entryNames(inLayer: 0, seed: seed + 1), "seed \(seed)")
        let all = (0..<4).flatMap { wide.entryNames(inLayer: $0, seed: seed) }
        #expect(Set(all).count == all.count, "seed \(seed)")
        #expect(all != all.sorted(), "names should not come out sorted")
    }

    @Test func deepLeafPath() {
        #expect(StackShapes.DeepPath(path: "m", levels: 3, layer: 0).leafPath == "m/d1/d2/d3/leaf")
    }

    @Test func validationNamesTheField() {
        var spec = LayerStackSpec(layerCount: 2, seed: 1, shapes: StackShapes(whiteouts: [.init(path: "x", layer: 2)]))
        #expect(throws: WorkloadError.self) { try spec.validate() }
        spec.shapes = StackShapes(deepPaths: [.init(path: "d", levels: 0, layer: 0)])
        #expect(throws: WorkloadError.self) { try spec.validate() }
        spec.shapes = StackShapes(mergedDirectories: [.init(path: "../escape")])
        #expect(throws: WorkloadError.self) { try spec.validate() }
        spec.shapes = StackShapes(mergedDirectories: [.init(path: "ok")])
        #expect(throws: Never.self) { try spec.validate() }
    }

    @Test func specWithoutShapesDecodesFromOldJSON() throws {
        let json = #"{"layerCount":2,"seed":3,"files":[]}"#
        let spec = try JSONDecoder().decode(LayerStackSpec.self, from: Data(json.utf8))
        #expect(spec.shapes == nil)
        #expect(spec == LayerStackSpec(layerCount: 2, seed: 3))
    }
}

@Suite("Generator shapes under a kernel overlay", .serialized, Gate.kernelOverlay.trait)
struct GeneratorShapesTests {
    @Test func shapesBehaveAsOverlayDefinesThem() throws {
        try Gate.kernelOverlay.require()
        let seed: UInt64 = 42
        try withTemporaryDirectory { directory in
            let spec = shapesSpec(seed: seed)
            let stack = try LayerStackBuilder(spec: spec).build(in: directory)
            // On disk: the whiteout is a 0/0 character device, the opaque marker is set.
            let whiteout = try FileDescriptor.currentWorkingDirectory.status(of: stack.lowerPaths[0] + "/gone")
            #expect(whiteout.isWhiteoutDevice, "seed \(seed)")
            let opaque = try ExtendedAttributes.get("trusted.overlay.opaque", path: stack.lowerPaths[1] + "/opaque")
            #expect(opaque == Array("y".utf8), "seed \(seed)")

            try withMergedView(KernelOverlayBackend(), stack, options: .defaults) { view in
                // Whiteouts hide.
                #expect(view.root.statxOnly("gone") == .noSuchFileOrDirectory, "seed \(seed)")
                #expect(view.root.statxOnly("dir/gone") == .noSuchFileOrDirectory, "seed \(seed)")
                #expect(view.root.statxOnly("dir/kept") == nil, "seed \(seed)")
                // The opaque directory hides what is below it.
                let opaqueDir = try FileDescriptor.open("opaque", [.readOnly, .directory], relativeTo: view.root)
                defer { opaqueDir.closeIgnoringErrors() }
                #expect(try opaqueDir.entries().map(\.name).sorted() == ["opaque-0", "opaque-1"], "seed \(seed)")
                // The merged directory lists every layer's names, plus the deep chain's first level.
                let merged = try FileDescriptor.open("merged", [.readOnly, .directory], relativeTo: view.root)
                defer { merged.closeIgnoringErrors() }
                let expected = (0..<3).flatMap { spec.shapes!.mergedDirectories[0].fileNames(inLayer: $0) } + ["d1"]
                #expect(try merged.entries().map(\.name).sorted() == expected.sorted(), "seed \(seed)")
                #expect(view.root.statxOnly(spec.shapes!.deepPaths[0].leafPath) == nil, "seed \(seed)")
                // Wide directories: every layer's entries, in the layers asked for.
                let wide = try FileDescriptor.open("wide", [.readOnly, .directory], relativeTo: view.root)
                defer { wide.closeIgnoringErrors() }
                #expect(try wide.countEntries() == 15, "seed \(seed)")
                let some = try FileDescriptor.open("some", [.readOnly, .directory], relativeTo: view.root)
                defer { some.closeIgnoringErrors() }
                let someNames = [0, 2].flatMap { spec.shapes!.wideDirectories[1].entryNames(inLayer: $0, seed: seed) }
                #expect(try some.entries().map(\.name).sorted() == someNames.sorted(), "seed \(seed)")
            }
        }
    }

    @Test func sameSeedSameTree() throws {
        try Gate.kernelOverlay.require()
        try withTemporaryDirectory { a in
            try withTemporaryDirectory { b in
                let first = try LayerStackBuilder(spec: shapesSpec(seed: 5)).build(in: a)
                let second = try LayerStackBuilder(spec: shapesSpec(seed: 5)).build(in: b)
                for (x, y) in zip(first.lowerPaths, second.lowerPaths) {
                    let dx = try FileDescriptor.open(x, [.readOnly, .directory])
                    defer { dx.closeIgnoringErrors() }
                    let dy = try FileDescriptor.open(y, [.readOnly, .directory])
                    defer { dy.closeIgnoringErrors() }
                    #expect(try treeListing(dx) == treeListing(dy), "seed 5")
                }
            }
        }
    }
}
