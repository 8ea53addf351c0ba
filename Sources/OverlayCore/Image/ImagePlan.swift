import Foundation
import OverlaySystem

/// One layer to apply: where its blob is, what it must hash to, how it is compressed.
struct LayerPlan {
    /// 0 is the bottom layer, the first applied.
    var index: Int
    var count: Int
    /// The blob's path inside the image.
    var path: String
    /// The blob's digest, checked as it streams; nil for a docker-archive layer stored under a
    /// name that is no digest (`<id>/layer.tar`), which its diff ID then covers.
    var digest: Digest?
    /// The size the manifest gives, checked too.
    var size: Int64?
    var mediaType: String?
    /// From the media type; nil (docker archives) means from the magic bytes.
    var compression: LayerCompression?
    /// The SHA-256 of the uncompressed tar (`rootfs.diff_ids`).
    var diffID: Digest

    /// How messages name the blob: `layer 2/5 sha256:1a2b3c4d5e6f`.
    var name: String { "layer \(index + 1)/\(count) \(digest?.short ?? path)" }
}

/// An image resolved from its source down to the layers to apply: the manifest and config have
/// been read and checked against their digests, and each layer's blob has been found.
struct ImagePlan {
    var reference: ImageReference
    var files: ImageFiles
    /// The manifest's digest; for a docker archive, the SHA-256 of `manifest.json`.
    var manifestDigest: Digest
    var configDigest: Digest
    /// Bottom-first, the order they are applied in.
    var layers: [LayerPlan]

    static func resolve(_ reference: ImageReference) throws -> ImagePlan {
        switch reference.transport {
        case .oci: try resolveOCI(reference, files: ImageFiles(reference.path, archive: false))
        case .ociArchive: try resolveOCI(reference, files: ImageFiles(reference.path, archive: true))
        case .dockerArchive: try resolveDockerArchive(reference, files: ImageFiles(reference.path, archive: true))
        }
    }

    // MARK: - OCI layouts (image-layout.md)

    private static func resolveOCI(_ reference: ImageReference, files: ImageFiles) throws -> ImagePlan {
        let where_ = reference.description
        guard let layout = try files.read("oci-layout") else {
            throw ImageError(.missing, "\(where_): no oci-layout file: not an OCI image layout")
        }
        struct Layout: Decodable { var imageLayoutVersion: String }
        _ = try decode(Layout.self, layout, "\(where_): oci-layout")
        guard let indexBytes = try files.read("index.json") else { throw ImageError(.missing, "\(where_): no index.json") }
        let index = try decode(OCIImage.Index.self, indexBytes, "\(where_): index.json")
        var descriptor = try choose(index.manifests, tag: reference.tag, where_)
        // An index inside the index: a multi-platform image; take this machine's platform.
        var depth = 0
        while let type = descriptor.mediaType, OCIImage.indexTypes.contains(type) {
            depth += 1
            guard depth < 4 else { throw ImageError(.malformed, "\(where_): image indexes nested too deep") }
            let nested = try decode(OCIImage.Index.self, try blob(descriptor, files, "index \(descriptor.digest.short)"),
                                    "\(where_): index \(descriptor.digest.short)")
            let matching = nested.manifests.filter { $0.platform?.os == "linux" && $0.platform?.architecture == OCIImage.hostArchitecture }
            guard let first = matching.first else {
                throw ImageError(.missing, "\(where_): index \(descriptor.digest.short) has no linux/\(OCIImage.hostArchitecture) image")
            }
            descriptor = first
        }
        if let type = descriptor.mediaType, !OCIImage.manifestTypes.contains(type) {
            throw ImageError(.malformed, "\(where_): manifest \(descriptor.digest.short) has the unknown media type \(type)")
        }
        let manifest = try decode(OCIImage.Manifest.self, try blob(descriptor, files, "manifest \(descriptor.digest.short)"),
                                  "\(where_): manifest \(descriptor.digest.short)")
        if let type = manifest.mediaType, !OCIImage.manifestTypes.contains(type) {
            throw ImageError(.malformed, "\(where_): manifest \(descriptor.digest.short) has the unknown media type \(type)")
        }
        let config = try decode(OCIImage.Config.self, try blob(manifest.config, files, "config \(manifest.config.digest.short)"),
                                "\(where_): config \(manifest.config.digest.short)")
        guard config.rootfs.diffIDs.count == manifest.layers.count else {
            throw ImageError(.malformed, "\(where_): the manifest lists \(manifest.layers.count) layers but the config \(config.rootfs.diffIDs.count) diff IDs")
        }
        var layers: [LayerPlan] = []
        for (i, layer) in manifest.layers.enumerated() {
            var plan = LayerPlan(index: i, count: manifest.layers.count, path: layer.digest.layoutPath, digest: layer.digest,
                                 size: layer.size, mediaType: layer.mediaType, compression: nil, diffID: config.rootfs.diffIDs[i])
            guard let type = layer.mediaType, let compression = LayerCompression(mediaType: type) else {
                throw ImageError(.malformed, "\(where_): \(plan.name): unknown layer media type \(layer.mediaType ?? "(none)")")
            }
            plan.compression = compression
            guard try files.range(plan.path) != nil else {
                throw ImageError(.missing, "\(where_): \(plan.name): the blob is missing (\(plan.path))")
            }
            layers.append(plan)
        }
        return ImagePlan(reference: reference, files: files, manifestDigest: descriptor.digest,
                         configDigest: manifest.config.digest, layers: layers)
    }

    private static func choose(_ manifests: [OCIImage.Descriptor], tag: String?, _ where_: String) throws -> OCIImage.Descriptor {
        func names(_ descriptor: OCIImage.Descriptor) -> [String] {
            [OCIImage.refNameAnnotation, OCIImage.containerdNameAnnotation].compactMap { descriptor.annotations?[$0] }
        }
        let tags = manifests.flatMap(names)
        if let tag {
            guard let found = manifests.first(where: { names($0).contains(tag) }) else {
                throw ImageError(.missing, "\(where_): no image tagged \(tag) (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            return found
        }
        guard manifests.count == 1 else {
            throw ImageError(.usage, "\(where_): index.json lists \(manifests.count) images; name one with :TAG (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
        }
        return manifests[0]
    }

    /// A small blob (manifest, config), checked against its descriptor's digest and size.
    private static func blob(_ descriptor: OCIImage.Descriptor, _ files: ImageFiles, _ what: String) throws -> [UInt8] {
        guard let bytes = try files.read(descriptor.digest.layoutPath) else {
            throw ImageError(.missing, "\(files.location): \(what): the blob is missing (\(descriptor.digest.layoutPath))")
        }
        guard Int64(bytes.count) == descriptor.size else {
            throw ImageError(.malformed, "\(files.location): \(what): the blob has \(bytes.count) bytes, not \(descriptor.size)")
        }
        let digest = Digest.of(bytes)
        guard digest == descriptor.digest else {
            throw ImageError(.malformed, "\(files.location): \(what): digest mismatch: the blob's SHA-256 is \(digest), not \(descriptor.digest)")
        }
        return bytes
    }

    // MARK: - Docker archives (`docker save`, `podman save`)

    private static func resolveDockerArchive(_ reference: ImageReference, files: ImageFiles) throws -> ImagePlan {
        let where_ = reference.description
        guard let manifestBytes = try files.read("manifest.json") else {
            throw ImageError(.missing, "\(where_): no manifest.json: not a docker archive")
        }
        let entries = try decode([OCIImage.DockerArchiveEntry].self, manifestBytes, "\(where_): manifest.json")
        let tags = entries.flatMap { $0.repoTags ?? [] }
        let entry: OCIImage.DockerArchiveEntry
        if let tag = reference.tag {
            func matches(_ candidate: String) -> Bool {
                candidate == tag || candidate.hasSuffix("/" + tag) || candidate == tag + ":latest"
            }
            guard let found = entries.first(where: { ($0.repoTags ?? []).contains(where: matches) }) else {
                throw ImageError(.missing, "\(where_): no image tagged \(tag) (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            entry = found
        } else {
            guard entries.count == 1 else {
                throw ImageError(.usage, "\(where_): manifest.json lists \(entries.count) images; name one with :REPO:TAG (tags: \(tags.joined(separator: ", ")))")
            }
            entry = entries[0]
        }
        guard let configBytes = try files.read(entry.config) else {
            throw ImageError(.missing, "\(where_): config \(entry.config) is missing")
        }
        let configDigest = Digest.of(configBytes)
        if let named = digestNamed(entry.config), named != configDigest {
            throw ImageError(.malformed, "\(where_): config \(entry.config): digest mismatch: its SHA-256 is \(configDigest)")
        }
        let config = try decode(OCIImage.Config.self, configBytes, "\(where_): config \(entry.config)")
        guard config.rootfs.diffIDs.count == entry.layers.count else {
            throw ImageError(.malformed, "\(where_): manifest.json lists \(entry.layers.count) layers but the config \(config.rootfs.diffIDs.count) diff IDs")
        }
        var layers: [LayerPlan] = []
        for (i, path) in entry.layers.enumerated() {
            let plan = LayerPlan(index: i, count: entry.layers.count, path: path, digest: digestNamed(path), size: nil,
                                 mediaType: nil, compression: nil, diffID: config.rootfs.diffIDs[i])
            guard try files.range(path) != nil else {
                throw ImageError(.missing, "\(where_): \(plan.name): the layer is missing (\(path))")
            }
            layers.append(plan)
        }
        return ImagePlan(reference: reference, files: files, manifestDigest: Digest.of(manifestBytes),
                         configDigest: configDigest, layers: layers)
    }

    /// The digest a docker archive's file name states: `blobs/sha256/<hex>` (docker 25+) or
    /// `<hex>.json`/`<hex>.tar` (skopeo). `<id>/layer.tar` names a legacy id, no digest.
    private static func digestNamed(_ path: String) -> Digest? {
        let name = ImageFiles.normalize(path)
        if name.hasPrefix("blobs/sha256/") { return Digest("sha256:" + name.dropFirst("blobs/sha256/".count)) }
        for suffix in [".json", ".tar"] where name.hasSuffix(suffix) && !name.contains("/") {
            return Digest("sha256:" + name.dropLast(suffix.count))
        }
        return nil
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], _ what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw ImageError(.malformed, "\(what): malformed JSON: \(Self.describe(error))")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return keys.isEmpty ? context.debugDescription : "\(keys): \(context.debugDescription)"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \(key.stringValue) at \(path(context))"
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context): return path(context)
        @unknown default: return "\(error)"
        }
    }
}
