import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// `import --rootless`: opaque directories get overlay's `user.` attribute, which an overlay
/// mounted with `userxattr` in a user namespace reads, and never the `trusted.` one.
@Suite struct ImageRootlessTests {
    @Test func opaqueDirectoriesUseTheUserAttribute() throws {
        try withTemporaryDirectory(prefix: "overlaybench-rootless") { directory in
            try TestImage.sample().writeOCILayout(to: directory + "/layout")
            let image = try ImageImporter(options: LayerApplyOptions(rootless: true))
                .importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: directory + "/out")
            #expect(image.rootless)
            let second = directory + "/out/" + image.layers[4].id + "/diff/var/cache/app"
            #expect(try ExtendedAttributes.get("user.overlay.opaque", path: second) == Array("y".utf8))
            if Host.isRoot {
                #expect(try ExtendedAttributes.get("trusted.overlay.opaque", path: second) == nil)
            }
            let catalog = try ImageCatalog(directory: directory + "/out")
            #expect(catalog.opaqueDirectories.count == 4)
            #expect(!catalog.entries.contains { $0.path == "var/cache/app/c1" })
        }
    }
}
