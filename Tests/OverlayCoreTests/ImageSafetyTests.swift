import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// Malicious layers: each is refused or contained, and nothing is ever written outside the
/// layer's own `diff` directory. Every test keeps a sentinel directory beside the import and
/// checks it is exactly as it was, and that no half-import is left. Unprivileged: without root
/// the import runs with `--rootless` semantics (owners are counted, not set).
@Suite struct ImageSafetyTests {
    struct Scene {
        let directory: String
        var outside: String { directory + "/outside" }
        var out: String { directory + "/out" }
        /// An absolute name that climbs out of any diff directory to the sentinel directory.
        var climbing: String { String(repeating: "../", count: 24) + String(outside.dropFirst()) }
    }

    private func withScene(_ layers: (Scene) -> [[TestTarMember]], _ check: (Scene, Result<ImportedImage, any Error>) throws -> Void) throws {
        try withTemporaryDirectory(prefix: "overlaybench-evil") { directory in
            let scene = Scene(directory: directory)
            try FileManager.default.createDirectory(atPath: scene.outside, withIntermediateDirectories: false)
            try Data("secret\n".utf8).write(to: URL(fileURLWithPath: scene.outside + "/secret"))
            let image = TestImage(layers: layers(scene).map { TestImage.Layer($0) })
            try image.writeOCILayout(to: directory + "/layout")
            let importer = ImageImporter(options: LayerApplyOptions(rootless: !Host.isRoot))
            let result = Result { try importer.importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: scene.out) }
            // The sentinel is untouched: the same one file, its content, one link.
            #expect(try FileManager.default.contentsOfDirectory(atPath: scene.outside) == ["secret"])
            #expect(try String(contentsOfFile: scene.outside + "/secret", encoding: .utf8) == "secret\n")
            #expect(FileSystem.status(scene.outside + "/secret")?.linkCount == 1)
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(left == (try? result.get()) .map { _ in ["layout", "out", "outside"] } ?? ["layout", "outside"])
            try check(scene, result)
        }
    }

    /// The layer's diff directory (0 is the top layer).
    private func diff(_ image: ImportedImage, _ scene: Scene, _ index: Int = 0) -> String {
        scene.out + "/" + image.layers[index].id + "/diff"
    }

    @Test func dotDotNamesStayBeneathTheLayerRoot() throws {
        try withScene { scene in [[.file(scene.climbing + "/pwned", "x"), .file("a/../../../b", "y")]] } _: { scene, result in
            let image = try result.get()
            #expect(image.layers[0].counts.containedNames == 2)
            #expect(FileSystem.exists(diff(image, scene) + scene.outside + "/pwned"))
            #expect(FileSystem.exists(diff(image, scene) + "/b"))
        }
    }

    @Test func absoluteNamesStayBeneathTheLayerRoot() throws {
        try withScene { scene in [[.file(scene.outside + "/pwned", "x")]] } _: { scene, result in
            let image = try result.get()
            #expect(image.layers[0].counts.containedNames == 1)
            #expect(FileSystem.exists(diff(image, scene) + scene.outside + "/pwned"))
        }
    }

    @Test func aSymlinkToRootThenAFileThroughItInTheSameLayer() throws {
        try withScene { scene in
            [[.symlink("evil", to: "/"), .file("evil" + scene.outside + "/pwned", "x"),
              .symlink("up", to: scene.climbing), .file("up/pwned2", "y"),
              .whiteout("evil" + scene.outside + "/secret")]]
        } _: { scene, result in
            let image = try result.get()
            // The symlinks resolve as inside a container: to the layer's own root.
            #expect(FileSystem.exists(diff(image, scene) + scene.outside + "/pwned"))
            #expect(FileSystem.exists(diff(image, scene) + scene.outside + "/pwned2"))
            #expect(FileSystem.status(diff(image, scene) + scene.outside + "/secret")?.isWhiteoutDevice == true)
        }
    }

    @Test func aSymlinkToRootThenAFileThroughItInALaterLayer() throws {
        try withScene { scene in
            [[.symlink("evil", to: "/"), .symlink("up", to: scene.climbing)],
             [.file("evil" + scene.outside + "/pwned", "x"), .file("up/pwned2", "y")]]
        } _: { scene, result in
            let image = try result.get()
            // The later layer never sees the earlier layer's symlinks: they are real
            // directories in its own diff, which hide the symlinks in the merged view.
            let top = diff(image, scene, 0)
            #expect(FileSystem.status(top + "/evil")?.type == .directory)
            #expect(FileSystem.exists(top + "/evil" + scene.outside + "/pwned"))
            #expect(FileSystem.exists(top + "/up/pwned2"))
            #expect(FileSystem.status(diff(image, scene, 1) + "/evil")?.type == .symlink)
        }
    }

    @Test func aHardLinkToANameOutsideIsRefused() throws {
        for target in ["OUTSIDE/secret", "CLIMB/secret", "evil/OUTSIDE/secret"] {
            try withScene { scene in
                let name = target.replacingOccurrences(of: "OUTSIDE", with: String(scene.outside.dropFirst()))
                    .replacingOccurrences(of: "CLIMB", with: scene.climbing)
                return [[.symlink("evil", to: "/"), .hardLink("hl", to: target.hasPrefix("OUTSIDE") ? "/" + name : name)]]
            } _: { scene, result in
                let error = try #require(result.failure as? ImageError, "\(target)")
                #expect(error.kind == .malformed)
                #expect(error.exitCode == 65)
                #expect(error.message.contains("layer 1/1") && error.message.contains("hard link hl"), "\(error)")
            }
        }
    }

    @Test func aFileOverAPlantedSymlinkReplacesTheSymlink() throws {
        try withScene { scene in [[.symlink("x", to: scene.outside + "/secret"), .file("x", "overwritten")]] } _: { scene, result in
            let image = try result.get()
            #expect(FileSystem.status(diff(image, scene) + "/x")?.type == .regular)
        }
    }

    @Test func aDanglingSymlinkUsedAsADirectoryIsRefused() throws {
        try withScene { scene in [[.symlink("evil", to: scene.outside + "/missing"), .opaque("evil")]] } _: { _, result in
            let error = try #require(result.failure as? ImageError)
            #expect(error.kind == .malformed && error.message.contains("dangling symlink"), "\(error)")
        }
    }

    @Test func overlayAttributesInALayerAreDropped() throws {
        try withScene { _ in
            [[.file("f", "x", xattrs: [("trusted.overlay.redirect", Array("/etc".utf8)), ("user.overlay.opaque", Array("y".utf8)),
                                       ("security.selinux", Array("system_u:object_r:etc_t:s0".utf8)), ("user.kept", Array("1".utf8))])]]
        } _: { scene, result in
            let image = try result.get()
            #expect(image.layers[0].counts.ignoredXattrs == 3)
            let file = diff(image, scene) + "/f"
            #expect(try ExtendedAttributes.list(path: file).filter { !$0.hasPrefix("security.") } == ["user.kept"])
        }
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
