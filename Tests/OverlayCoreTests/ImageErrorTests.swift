import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// A broken image fails with one line that names the blob, the exit code its kind documents,
/// and nothing left where the import was going, nor beside it. Unprivileged.
@Suite struct ImageErrorTests {
    private func importing(_ image: TestImage, form: ImageReference.Transport = .oci, _ prepare: (String) throws -> Void = { _ in },
                           source: ((String) -> String)? = nil) throws -> ImageError {
        try withTemporaryDirectory(prefix: "overlaybench-bad") { directory in
            let text: String
            switch form {
            case .oci:
                try image.writeOCILayout(to: directory + "/layout")
                text = "oci:\(directory)/layout"
            case .ociArchive:
                try image.writeOCIArchive(to: directory + "/image.tar")
                text = "oci-archive:\(directory)/image.tar"
            case .dockerArchive:
                try image.writeDockerArchive(to: directory + "/image.tar")
                text = "docker-archive:\(directory)/image.tar"
            }
            try prepare(directory)
            let importer = ImageImporter(options: LayerApplyOptions(rootless: !Host.isRoot))
            var caught: ImageError?
            do {
                _ = try importer.importImage(ImageReference(parsing: source?(directory) ?? text), to: directory + "/out")
            } catch let error as ImageError {
                caught = error
            }
            let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0 == "out" || $0.hasPrefix(".out") }
            #expect(left.isEmpty, "left behind: \(left)")
            return try #require(caught, "the import succeeded")
        }
    }

    private var sample: TestImage { TestImage.sample() }

    @Test func aBadDigestNamesTheBlob() throws {
        var image = sample
        image.layers[2].corrupt = { var bytes = $0; bytes[bytes.count - 1] ^= 1; return bytes }
        let error = try importing(image)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 3/6 sha256:") && error.message.contains("digest mismatch"), "\(error)")
        #expect(!error.message.contains("\n"))
    }

    @Test func aTruncatedBlobNamesTheBlob() throws {
        var image = sample
        image.layers[1].corrupt = { Array($0.prefix($0.count / 2)) }
        let error = try importing(image)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 2/6") && error.message.contains("truncated"), "\(error)")
    }

    @Test func aTruncatedDockerArchiveLayerIsCaughtByItsDiffID() throws {
        var image = sample
        image.layers[2].corrupt = { Array($0.prefix($0.count - 1024)) }
        let error = try importing(image, form: .dockerArchive)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 3/6") && error.message.contains("diff ID mismatch"), "\(error)")
    }

    @Test func aTruncatedArchiveIsMalformed() throws {
        let error = try importing(sample, form: .ociArchive) { directory in
            let path = directory + "/image.tar"
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
        }
        #expect(error.exitCode == 65 || error.exitCode == 66, "\(error)")
    }

    @Test func anUnknownMediaTypeIsRefused() throws {
        var image = sample
        image.layers[4].mediaType = "application/vnd.example.layer.v1.tar+lz4"
        let error = try importing(image)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 5/6") && error.message.contains("unknown layer media type application/vnd.example.layer.v1.tar+lz4"), "\(error)")
    }

    @Test func compressionThatContradictsTheMediaTypeIsRefused() throws {
        var image = sample
        image.layers[0].mediaType = "application/vnd.oci.image.layer.v1.tar+zstd"
        let error = try importing(image)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 1/6") && error.message.contains("says zstd, but the blob is gzip"), "\(error)")
    }

    @Test func aMissingBlobIsMissingInput() throws {
        let image = sample
        let error = try importing(image) { directory in
            let blobs = directory + "/layout/blobs/sha256"
            let layer = Digest.of(image.layers[3].blob).hex
            try FileManager.default.removeItem(atPath: blobs + "/" + layer)
        }
        #expect(error.exitCode == 66)
        #expect(error.message.contains("layer 4/6") && error.message.contains("missing"), "\(error)")
    }

    @Test func aLayerThatFailsHalfWayLeavesNothing() throws {
        var image = sample
        // A consistent blob (its digests match) whose tar breaks after a few members.
        image.layers[3].rewriteTar = { tar in
            var bytes = tar
            bytes[3 * 512 + 148] = UInt8(ascii: "7")
            return bytes
        }
        let error = try importing(image)
        #expect(error.exitCode == 65)
        #expect(error.message.contains("layer 4/6") && error.message.contains("not a tar header"), "\(error)")
    }

    @Test func anUnknownTagIsMissingAndNoPathIsMissing() throws {
        let tag = try importing(sample, source: { "oci:\($0)/layout:nope" })
        #expect(tag.exitCode == 66 && tag.message.contains("no image tagged nope (tags: sample)"), "\(tag)")
        #expect(throws: ImageError.self) { try ImageReference(parsing: "oci:/nonexistent/layout") }
        #expect((try? ImageReference(parsing: "zip:/x")) == nil)
    }

    @Test func anExistingDestinationIsNotReplaced() throws {
        let error = try withTemporaryDirectory(prefix: "overlaybench-bad") { directory -> ImageError in
            try sample.writeOCILayout(to: directory + "/layout")
            try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: false)
            do {
                _ = try ImageImporter().importImage(ImageReference(parsing: "oci:\(directory)/layout"), to: directory + "/out")
            } catch let error as ImageError {
                #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/out").isEmpty)
                return error
            }
            throw GateUnavailable(description: "the import replaced an existing directory")
        }
        #expect(error.exitCode == 73)
    }
}
