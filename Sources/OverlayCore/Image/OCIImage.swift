/// The parts of the OCI image spec (and Docker's manifest v2.2 and `docker save` format) that
/// import reads: `descriptor.md`, `image-index.md`, `manifest.md`, `config.md`.
enum OCIImage {
    static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// containerd's `ctr export` and `docker save` (25+) name the image here.
    static let containerdNameAnnotation = "io.containerd.image.name"

    static let indexTypes: Set<String> = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
    static let manifestTypes: Set<String> = [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]

    struct Platform: Codable, Sendable {
        var architecture: String
        var os: String
        var variant: String?
    }

    struct Descriptor: Codable, Sendable {
        var mediaType: String?
        var digest: Digest
        var size: Int64
        var annotations: [String: String]?
        var platform: Platform?
        var urls: [String]?
    }

    struct Index: Codable, Sendable {
        var schemaVersion: Int?
        var mediaType: String?
        var manifests: [Descriptor]
    }

    struct Manifest: Codable, Sendable {
        var schemaVersion: Int?
        var mediaType: String?
        var config: Descriptor
        var layers: [Descriptor]
    }

    struct Config: Codable, Sendable {
        struct RootFS: Codable, Sendable {
            var type: String
            var diffIDs: [Digest]
            enum CodingKeys: String, CodingKey {
                case type
                case diffIDs = "diff_ids"
            }
        }
        var rootfs: RootFS
    }

    /// One entry of a docker archive's `manifest.json`.
    struct DockerArchiveEntry: Codable, Sendable {
        var config: String
        var repoTags: [String]?
        var layers: [String]
        enum CodingKeys: String, CodingKey {
            case config = "Config"
            case repoTags = "RepoTags"
            case layers = "Layers"
        }
    }

    /// The GOARCH name of this machine, which image indexes use.
    static var hostArchitecture: String {
        #if arch(x86_64)
        "amd64"
        #elseif arch(arm64)
        "arm64"
        #else
        "unknown"
        #endif
    }
}
