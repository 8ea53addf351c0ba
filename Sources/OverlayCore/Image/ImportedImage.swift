import Foundation
import OverlaySystem

/// What `overlaybench import` wrote, as `DIR/image.json` keeps it: the source, the manifest,
/// and the layers top-first (index 0 is `lowerdir`'s first entry) with what each held.
///
/// `DIR` is in Docker overlay2's layout, as ``LayerStackBuilder`` writes lower layers:
/// `DIR/<id>/diff`, `DIR/<id>/link`, `DIR/<id>/lower`, `DIR/l/<short>` → `../<id>/diff`; each
/// id is the layer's chain ID (`config.md`, "Layer ChainID"), as Docker's layer store names them.
public struct ImportedImage: Codable, Sendable, Equatable {
    public static let schemaName = "overlaybench.image/1"
    public static let fileName = "image.json"
    public static let lowerdirFileName = "lowerdir"

    public struct Layer: Codable, Sendable, Equatable {
        /// The directory's name in DIR: the chain ID's 64 hex digits.
        public var id: String
        /// The name of its `l/` link.
        public var shortName: String
        /// The blob's digest; for a docker-archive layer stored under no digest, its diff ID.
        public var digest: Digest
        public var diffID: Digest
        public var mediaType: String?
        public var compression: LayerCompression
        /// Bytes of the blob as stored, and of the tar it decompressed to.
        public var compressedSize: Int64
        public var uncompressedSize: Int64
        public var counts: LayerCounts
    }

    public var schema = ImportedImage.schemaName
    /// SOURCE as given (`oci:/path:tag`).
    public var source: String
    public var transport: ImageReference.Transport
    public var tag: String?
    /// The manifest's digest; for a docker archive, the SHA-256 of its `manifest.json`.
    public var manifestDigest: Digest
    public var configDigest: Digest
    public var rootless: Bool
    /// Top-first.
    public var layers: [Layer]
    /// How long applying the layers took (reading, checking, decompressing, writing), in ns.
    public var importNanoseconds: UInt64

    /// Bytes of uncompressed layer data (the tars' sizes).
    public var uncompressedBytes: Int64 { layers.reduce(0) { $0 + $1.uncompressedSize } }

    /// Reads `directory/image.json`.
    public static func load(_ directory: String) throws -> ImportedImage {
        let path = directory + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory {
                throw ImageError(.missing, "\(directory): no \(fileName): not a directory that overlaybench import wrote")
            }
            throw ImageError.system(error, path)
        }
        let image: ImportedImage
        do {
            image = try JSONDecoder().decode(ImportedImage.self, from: Data(bytes))
        } catch {
            throw ImageError(.malformed, "\(path): malformed: \(error)")
        }
        guard image.schema == schemaName else { throw ImageError(.malformed, "\(path): schema \(image.schema), expected \(schemaName)") }
        return image
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }
}
