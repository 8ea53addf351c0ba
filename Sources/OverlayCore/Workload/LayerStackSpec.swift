/// What to generate: how many lower layers, and which files go in which layer.
///
/// Layer 0 is the top lower layer (the first in `lowerdir=`); layer `layerCount - 1` is the base.
public struct LayerStackSpec: Codable, Sendable, Hashable {
    public static let maximumLayers = 500  // OVL_MAX_STACK

    public var layerCount: Int
    public var seed: UInt64
    public var files: [FileSpec]
    /// Whiteouts, opaque, merged, wide and deep directories (``StackShapes``); nil for none.
    public var shapes: StackShapes? = nil

    public init(layerCount: Int, seed: UInt64, files: [FileSpec] = []) {
        self.layerCount = layerCount
        self.seed = seed
        self.files = files
    }

    /// Bytes of file data the stack holds (what the lower layers will occupy, before metadata).
    public var totalFileBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    /// Checks ranges and paths; throws a message that names the field.
    public func validate() throws {
        guard (1...Self.maximumLayers).contains(layerCount) else {
            throw WorkloadError.invalid("layers", "\(layerCount) is outside 1...\(Self.maximumLayers) (the kernel's OVL_MAX_STACK)")
        }
        var seen = Set<String>()
        for file in files {
            try FileSpec.validate(path: file.path)
            guard (0..<layerCount).contains(file.layer) else {
                throw WorkloadError.invalid("files[\(file.path)].layer", "\(file.layer) is outside 0..<\(layerCount)")
            }
            guard file.size >= 0 else { throw WorkloadError.invalid("files[\(file.path)].size", "must not be negative") }
            guard seen.insert("\(file.layer)/\(file.path)").inserted else {
                throw WorkloadError.invalid("files[\(file.path)]", "is listed twice in layer \(file.layer)")
            }
        }
        try shapes?.validate(layerCount: layerCount)
    }
}

/// One regular file in one layer, with content from ``ContentPattern``.
public struct FileSpec: Codable, Sendable, Hashable {
    /// Relative to the layer's root, `/`-separated, without `.` or `..` components.
    public var path: String
    public var size: Int64
    public var layer: Int
    /// When true, only every other ``sparseChunk`` holds data (the first one does) and the
    /// chunks between are holes, as `SEEK_DATA` reports them; nil or false writes every byte.
    public var sparse: Bool?

    /// The granularity of ``sparse`` files: overlay copies up in 1 MiB chunks and skips holes
    /// chunk by chunk (`ovl_copy_up_file` in fs/overlayfs/copy_up.c).
    public static let sparseChunk: Int64 = 1 << 20

    public init(path: String, size: Int64, layer: Int, sparse: Bool? = nil) {
        self.path = path
        self.size = size
        self.layer = layer
        self.sparse = sparse
    }

    /// Whether the ``sparseChunk`` holding `offset` is a hole.
    public func isHole(at offset: Int64) -> Bool {
        sparse == true && (offset / Self.sparseChunk) % 2 == 1
    }

    static func validate(path: String) throws {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard !path.isEmpty, !path.hasPrefix("/"),
              components.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." }) else {
            throw WorkloadError.invalid("files.path", "\"\(path)\" must be relative, without empty, '.' or '..' components")
        }
        guard !path.utf8.contains(0) else { throw WorkloadError.invalid("files.path", "contains a NUL byte") }
    }
}

public enum WorkloadError: Error, CustomStringConvertible, Sendable {
    case invalid(String, String)
    case insufficientSpace(needed: Int64, available: Int64, path: String)

    public var description: String {
        switch self {
        case .invalid(let field, let why): "invalid \(field): \(why)"
        case .insufficientSpace(let needed, let available, let path):
            "not enough space in \(path): this run needs about \(ByteCount.format(needed)), \(ByteCount.format(available)) is free"
        }
    }
}
