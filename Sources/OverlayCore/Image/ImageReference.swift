import OverlaySystem

/// An image named the way skopeo and podman name local images (containers-transports(5)):
/// `oci:PATH[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REPO:TAG]`.
public struct ImageReference: Sendable, Equatable, CustomStringConvertible {
    public enum Transport: String, Sendable, Codable, CaseIterable {
        case oci
        case ociArchive = "oci-archive"
        case dockerArchive = "docker-archive"
    }

    public var transport: Transport
    /// The layout directory or the archive file.
    public var path: String
    /// The tag (`oci`, `oci-archive`) or `REPO:TAG` (`docker-archive`); nil picks the only image.
    public var tag: String?

    public init(transport: Transport, path: String, tag: String? = nil) {
        self.transport = transport
        self.path = path
        self.tag = tag
    }

    /// Parses SOURCE. A path may itself hold `:`: the longest prefix of what follows the
    /// transport that exists on disk is the path, and the rest the tag.
    public init(parsing text: String) throws {
        guard let colon = text.firstIndex(of: ":"), let transport = Transport(rawValue: String(text[..<colon])) else {
            throw ImageError(.usage, "\(text): not an image source (expected \(Transport.allCases.map { $0.rawValue + ":PATH" }.joined(separator: ", ")))")
        }
        let rest = String(text[text.index(after: colon)...])
        guard !rest.isEmpty else { throw ImageError(.usage, "\(text): no path after \(transport.rawValue):") }
        self.transport = transport
        if FileSystem.exists(rest) {
            path = rest
            tag = nil
            return
        }
        // docker-archive's reference holds a colon itself (REPO:TAG), so try the shortest path
        // first there, and the longest first for the others.
        var splits = rest.indices.filter { rest[$0] == ":" }
        if transport != .dockerArchive { splits.reverse() }
        for split in splits where FileSystem.exists(String(rest[..<split])) {
            path = String(rest[..<split])
            let tag = String(rest[rest.index(after: split)...])
            self.tag = tag.isEmpty ? nil : tag
            return
        }
        throw ImageError(.missing, "\(text): \(rest) does not exist")
    }

    public var description: String { transport.rawValue + ":" + path + (tag.map { ":" + $0 } ?? "") }
}
