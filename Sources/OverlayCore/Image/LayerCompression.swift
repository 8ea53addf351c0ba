/// How a layer blob is compressed: named by its media type's suffix (`+gzip`, `+zstd`), and
/// checked against the blob's first bytes.
public enum LayerCompression: String, Sendable, Codable, CaseIterable {
    case none, gzip, zstd

    /// The layer media types an importer accepts (OCI `layer.md`, Docker's image manifest v2.2,
    /// and the deprecated non-distributable types): nil for anything else, which is not a layer
    /// this knows how to apply.
    public init?(mediaType: String) {
        switch mediaType {
        case "application/vnd.oci.image.layer.v1.tar",
             "application/vnd.oci.image.layer.nondistributable.v1.tar",
             "application/vnd.docker.image.rootfs.diff.tar":
            self = .none
        case "application/vnd.oci.image.layer.v1.tar+gzip",
             "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             "application/vnd.docker.image.rootfs.diff.tar.gzip",
             "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
            self = .gzip
        case "application/vnd.oci.image.layer.v1.tar+zstd",
             "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
             "application/vnd.docker.image.rootfs.diff.tar.zstd":
            self = .zstd
        default:
            return nil
        }
    }

    /// What the first bytes say (RFC 1952's 1f 8b; zstd's frame magic 28 b5 2f fd, RFC 8878);
    /// anything else is taken for a tar, which the tar reader then checks header by header.
    public init(magic: some Collection<UInt8>) {
        let head = Array(magic.prefix(4))
        if head.count >= 2 && head[0] == 0x1f && head[1] == 0x8b {
            self = .gzip
        } else if head == [0x28, 0xb5, 0x2f, 0xfd] {
            self = .zstd
        } else {
            self = .none
        }
    }

    /// A stream that decompresses `source`; `name` names the blob in errors.
    func decompressing(_ source: any ByteStream, name: String) throws -> any ByteStream {
        switch self {
        case .none: source
        case .gzip: try GzipStream(source, name: name)
        case .zstd: try ZstdStream(source, name: name)
        }
    }
}
