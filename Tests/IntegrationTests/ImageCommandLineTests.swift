import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// `overlaybench import` and `overlaybench image` as a user runs them: the exit codes, one line
/// on stderr naming the blob, and the files DIR gets.
@Suite(Gate.root.trait)
struct ImageCommandLineTests {
    @Test func importWritesTheLayoutAndImageDescribesIt() throws {
        try Gate.root.require()
        try withTemporaryDirectory(prefix: "overlaybench-cli") { directory in
            try TestImage.sample().writeDockerArchive(to: directory + "/image.tar", repoTag: "sample/image:v1")
            let run = try runOverlayBench(["import", "docker-archive:\(directory)/image.tar:sample/image:v1", "--out", directory + "/out"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.contains("6 layers"))
            for name in ["image.json", "lowerdir", "l"] { #expect(FileSystem.exists(directory + "/out/" + name), "\(name)") }
            let lowerdir = try FileSystem.readText(directory + "/out/lowerdir")
            #expect(lowerdir.hasPrefix(directory + "/out/") && lowerdir.split(separator: ":").count == 6)
            let image = try runOverlayBench(["image", directory + "/out"])
            #expect(image.status == 0 && image.stdout.contains("deepest path:"), "\(image.stderr)")
            let again = try runOverlayBench(["import", "docker-archive:\(directory)/image.tar", "--out", directory + "/out"])
            #expect(again.status == 73, "\(again.stderr)")
        }
    }

    @Test func brokenImagesExitWithTheirDocumentedCodes() throws {
        try Gate.root.require()
        try withTemporaryDirectory(prefix: "overlaybench-cli") { directory in
            var image = TestImage.sample()
            image.layers[1].corrupt = { var bytes = $0; bytes[bytes.count / 2] ^= 0x40; return bytes }
            try image.writeOCILayout(to: directory + "/layout")
            let bad = try runOverlayBench(["import", "oci:\(directory)/layout", "--out", directory + "/out"])
            #expect(bad.status == 65, "\(bad.stderr)")
            let lines = bad.stderr.split(separator: "\n").filter { !$0.contains(": layer 1/6") }
            #expect(lines.count == 1 && lines[0].hasPrefix("overlaybench: error: ") && lines[0].contains("layer 2/6 sha256:"), "\(bad.stderr)")
            #expect(!FileSystem.exists(directory + "/out"))
            let missing = try runOverlayBench(["import", "oci:\(directory)/nothing-here", "--out", directory + "/out"])
            #expect(missing.status == 66, "\(missing.stderr)")
            let usage = try runOverlayBench(["import", "registry:alpine", "--out", directory + "/out"])
            #expect(usage.status == 64, "\(usage.stderr)")
            let notImported = try runOverlayBench(["image", directory])
            #expect(notImported.status == 66, "\(notImported.stderr)")
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            #expect(left == ["layout"])
        }
    }
}
