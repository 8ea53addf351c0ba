import Foundation
import OverlayCore

/// An image a test builds on the fly, written as an OCI layout, an OCI archive or a docker
/// archive, with each layer uncompressed, gzip or zstd.
public struct TestImage: Sendable {
    public struct Layer: Sendable {
        public var members: [TestTarMember]
        public var compression: LayerCompression
        /// Replaces the layer's media type in the manifest (to test refusals).
        public var mediaType: String?
        /// Changes the blob after its digest was computed (to test digest checks).
        public var corrupt: (@Sendable ([UInt8]) -> [UInt8])?
        /// Changes the tar before it is compressed and hashed (a consistent but malformed layer).
        public var rewriteTar: (@Sendable ([UInt8]) -> [UInt8])?

        public init(_ members: [TestTarMember], compression: LayerCompression = .none) {
            self.members = members
            self.compression = compression
        }

        public var tar: [UInt8] { rewriteTar.map { $0(TestTar.archive(members)) } ?? TestTar.archive(members) }

        public var blob: [UInt8] {
            switch compression {
            case .none: tar
            case .gzip: TestCompression.gzip(tar)
            case .zstd: TestCompression.zstd(tar)
            }
        }

        var defaultMediaType: String {
            switch compression {
            case .none: "application/vnd.oci.image.layer.v1.tar"
            case .gzip: "application/vnd.oci.image.layer.v1.tar+gzip"
            case .zstd: "application/vnd.oci.image.layer.v1.tar+zstd"
            }
        }
    }

    /// Bottom-first, as a manifest lists them.
    public var layers: [Layer]
    public var tag: String

    public init(layers: [Layer], tag: String = "test") {
        self.layers = layers
        self.tag = tag
    }

    /// The same image with every layer compressed as `compression` (the trees are unchanged).
    public func recompressed(_ compression: LayerCompression) -> TestImage {
        var copy = self
        for index in copy.layers.indices { copy.layers[index].compression = compression }
        return copy
    }

    /// Blob files by path, for every form.
    func layoutFiles() -> [(String, [UInt8])] {
        var blobs: [(String, [UInt8])] = []
        var layerDescriptors: [[String: Any]] = []
        var diffIDs: [String] = []
        for layer in layers {
            let blob = layer.blob
            let digest = Digest.of(blob)
            diffIDs.append(Digest.of(layer.tar).description)
            layerDescriptors.append(["mediaType": layer.mediaType ?? layer.defaultMediaType, "digest": digest.description, "size": blob.count])
            blobs.append((digest.layoutPath, layer.corrupt.map { $0(blob) } ?? blob))
        }
        let config = json(["architecture": "amd64", "os": "linux", "config": [String: Any](),
                           "rootfs": ["type": "layers", "diff_ids": diffIDs]])
        let configDigest = Digest.of(config)
        blobs.append((configDigest.layoutPath, config))
        let manifest = json(["schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest.description, "size": config.count],
                             "layers": layerDescriptors])
        let manifestDigest = Digest.of(manifest)
        blobs.append((manifestDigest.layoutPath, manifest))
        let index = json(["schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": [["mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifestDigest.description,
                                         "size": manifest.count, "annotations": ["org.opencontainers.image.ref.name": tag]]]])
        return [("oci-layout", Array(#"{"imageLayoutVersion":"1.0.0"}"#.utf8)), ("index.json", index)] + blobs
    }

    /// Writes an OCI image layout at `path` (created).
    public func writeOCILayout(to path: String) throws {
        for (name, bytes) in layoutFiles() {
            let file = path + "/" + name
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: file))
        }
    }

    /// Writes the layout as one tar (`oci-archive:`).
    public func writeOCIArchive(to path: String) throws {
        var members: [TestTarMember] = [.directory("blobs"), .directory("blobs/sha256")]
        for (name, bytes) in layoutFiles() { members.append(TestTarMember(name, .file(bytes))) }
        try Data(TestTar.archive(members)).write(to: URL(fileURLWithPath: path))
    }

    /// Writes a `docker save` archive: `manifest.json`, `<hex>.json` config, `<n>/layer.tar`
    /// layers (uncompressed, as docker writes them, unless a layer says otherwise).
    public func writeDockerArchive(to path: String, repoTag: String = "test/image:latest") throws {
        var members: [TestTarMember] = []
        var layerPaths: [String] = []
        var diffIDs: [String] = []
        for (index, layer) in layers.enumerated() {
            let directory = String(format: "%064x", index + 1)
            members.append(.directory(directory))
            members.append(TestTarMember(directory + "/layer.tar", .file(layer.corrupt.map { $0(layer.blob) } ?? layer.blob)))
            layerPaths.append(directory + "/layer.tar")
            diffIDs.append(Digest.of(layer.tar).description)
        }
        let config = json(["architecture": "amd64", "os": "linux", "config": [String: Any](),
                           "rootfs": ["type": "layers", "diff_ids": diffIDs]])
        let configName = Digest.of(config).hex + ".json"
        members.append(TestTarMember(configName, .file(config)))
        members.append(TestTarMember("manifest.json", .file(json([["Config": configName, "RepoTags": [repoTag], "Layers": layerPaths]]))))
        try Data(TestTar.archive(members)).write(to: URL(fileURLWithPath: path))
    }

    func json(_ value: Any) -> [UInt8] {
        Array(try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]))
    }
}
