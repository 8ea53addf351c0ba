import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// The image as a workload: what the catalog says the merged view holds, and the seeded draws
/// of files and names. Unprivileged (the import runs rootless without root).
@Suite struct ImageWorkloadTests {
    private func withSample<T>(_ body: (ImageWorkload) throws -> T) throws -> T {
        try withTemporaryDirectory(prefix: "overlaybench-workload") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            _ = try ImageImporter(options: LayerApplyOptions(rootless: !Host.isRoot))
                .importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: directory + "/image")
            return try body(try ImageWorkload(directory: directory + "/image"))
        }
    }

    @Test func theCatalogFollowsOverlayLookup() throws {
        try withSample { workload in
            let catalog = workload.catalog
            let paths = Set(catalog.entries.map(\.path))
            // Whiteouts hide, opaque directories hide what is below, replacements replace.
            #expect(!paths.contains("usr/lib64") && !paths.contains("opt/app/config") && !paths.contains("usr/share/doc/readme"))
            #expect(paths.contains("var/cache/app/c9") && !paths.contains("var/cache/app/c1"))
            #expect(paths.contains("home/user/.profile") && !paths.contains("home/user/.bashrc"))
            #expect(catalog.entries.first { $0.path == "etc/shadow" }?.layer == 2)
            #expect(catalog.entries.first { $0.path == "bin/tool-link" }?.type == .directory)
            #expect(catalog.entries.first { $0.path == "opt/big" }?.size == Int64(3 << 20 | 12345))
            #expect(catalog.whiteouts.count == 4 && catalog.opaqueDirectories.count == 4)
            #expect(catalog.deepestPath?.path.hasSuffix("file-with-a-long-name.txt") == true)
            #expect(catalog.layers.map(\.visibleFiles).reduce(0, +) == catalog.regularFiles.count)
            let histogram = catalog.sizeHistogram()
            #expect(histogram.reduce(0) { $0 + $1.files } == catalog.regularFiles.count)
            #expect(histogram.first?.sizeClass.description == "0")
        }
    }

    @Test func filesAreDrawnBySizeClassAndSeeded() throws {
        try withSample { workload in
            let draw = workload.sampleFiles(8, seed: 3)
            #expect(draw == workload.sampleFiles(8, seed: 3))
            #expect(draw != workload.sampleFiles(8, seed: 4))
            #expect(Set(draw.map(\.file.path)).count == 8)
            for item in draw { #expect(ImageSizeClass(size: item.file.size) == item.sizeClass) }
            // Classes take turns: the first draws are each from a different class.
            let classes = Set(workload.catalog.regularFiles.map { ImageSizeClass(size: $0.size) })
            #expect(Set(draw.prefix(classes.count).map(\.sizeClass)) == classes)
            #expect(workload.sampleFiles(10_000, seed: 1).count == workload.catalog.regularFiles.count)
        }
    }

    @Test func namesSpanTheLayersHitsAndMisses() throws {
        try withSample { workload in
            let names = workload.lookupNames(seed: 1)
            #expect(names == workload.lookupNames(seed: 1))
            let hits = names.filter { $0.kind == .hit }
            #expect(Set(hits.map(\.layer)) == Set(workload.catalog.regularFiles.map(\.layer)))
            #expect(names.contains { $0.kind == .miss } && names.contains { $0.kind == .directory })
            #expect(names.filter { $0.kind == .whiteout }.allSatisfy { !$0.found })
            let read = workload.readFiles(minimumSize: 4096)
            #expect(read.map(\.layer) == read.map(\.layer).sorted())
            #expect(read.allSatisfy { $0.size >= 4096 })
        }
    }

    @Test func theStackAdoptsTheLayersUnderANewContainer() throws {
        try withSample { workload in
            try withTemporaryDirectory(prefix: "overlaybench-scratch") { scratch in
                let stack = try workload.stack(in: scratch)
                #expect(stack.lowerLayers.count == 6)
                #expect(stack.upperPath.hasPrefix(scratch) && stack.mergedPath.hasPrefix(scratch))
                #expect(FileSystem.status(stack.upperPath)?.type == .directory && FileSystem.status(stack.workPath)?.type == .directory)
                #expect(try stack.lowerPaths.map { try Host.realPath($0) } == workload.lowerPaths.map { try Host.realPath($0) })
            }
        }
    }
}
