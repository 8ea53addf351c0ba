/// A content digest as the OCI image spec writes it, `sha256:` and 64 lowercase hex digits
/// (`descriptor.md`, "Digests"). Only SHA-256 is accepted: it is what every image uses, and
/// what the spec requires implementations to support.
public struct Digest: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The 64 hex digits.
    public let hex: String

    public init(sha256 bytes: [UInt8]) { hex = SHA256Hasher.hexString(bytes) }

    /// Parses `sha256:<64 hex>`; nil for any other algorithm or a malformed value.
    public init?(_ text: String) {
        guard text.hasPrefix("sha256:") else { return nil }
        let hex = text.dropFirst("sha256:".count)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else { return nil }
        self.hex = String(hex)
    }

    public var description: String { "sha256:" + hex }
    /// `sha256:1a2b3c4d5e6f`, for messages.
    public var short: String { "sha256:" + hex.prefix(12) }
    /// Where an OCI image layout keeps this blob.
    public var layoutPath: String { "blobs/sha256/" + hex }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let digest = Digest(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a sha256 digest: \(text)"))
        }
        self = digest
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    /// The SHA-256 of `bytes`.
    public static func of<C: Collection>(_ bytes: C) -> Digest where C.Element == UInt8 {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return Digest(sha256: hasher.finalize())
    }
}
