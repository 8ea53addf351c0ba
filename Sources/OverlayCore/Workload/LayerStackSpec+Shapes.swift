/// The directory shapes that make overlay lookups and readdir cost what they cost, beyond plain
/// files: whiteouts, opaque directories, directories merged through every layer, wide directories
/// and deep paths. Every name is a function of the spec and its seed.
///
/// Layer numbers are as in ``LayerStackSpec``: 0 is the top lower layer.
public struct StackShapes: Codable, Sendable, Hashable {
    /// A whiteout: a 0/0 character device at `path` in `layer`, hiding that name in every layer below.
    public struct Whiteout: Codable, Sendable, Hashable {
        public var path: String
        public var layer: Int
        public init(path: String, layer: Int) { self.path = path; self.layer = layer }
    }

    /// A directory at `path` in `layer` marked `trusted.overlay.opaque=y`, holding `files` empty
    /// files named `opaque-<i>`: the layers below contribute nothing to it.
    public struct OpaqueDirectory: Codable, Sendable, Hashable {
        public var path: String
        public var layer: Int
        public var files: Int
        public init(path: String, layer: Int, files: Int = 1) { self.path = path; self.layer = layer; self.files = files }

        public var fileNames: [String] { (0..<files).map { "opaque-\($0)" } }
    }

    /// The directory `path` in every layer, layer k holding `filesPerLayer` empty files `l<k>-<i>`:
    /// its merged listing holds every layer's names, and a lookup of it visits every layer.
    public struct MergedDirectory: Codable, Sendable, Hashable {
        public var path: String
        public var filesPerLayer: Int
        public init(path: String, filesPerLayer: Int = 1) { self.path = path; self.filesPerLayer = filesPerLayer }

        public func fileNames(inLayer layer: Int) -> [String] { (0..<filesPerLayer).map { "l\(layer)-\($0)" } }
    }

    /// The directory `path` with `entriesPerLayer` empty files in each of `layers` (nil: every
    /// layer), under seeded names distinct across layers, in no sorted order (as image layers are).
    public struct WideDirectory: Codable, Sendable, Hashable {
        public var path: String
        public var entriesPerLayer: Int
        public var layers: [Int]?
        public init(path: String, entriesPerLayer: Int, layers: [Int]? = nil) {
            self.path = path; self.entriesPerLayer = entriesPerLayer; self.layers = layers
        }

        /// The names layer `layer` holds, for `seed`.
        public func entryNames(inLayer layer: Int, seed: UInt64) -> [String] {
            var random = SplitMix64(seed: seed ^ ContentPattern(seed: 0, path: path).key ^ UInt64(layer) &* 0x9e37_79b9)
            return (0..<entriesPerLayer).map { _ in
                let hex = String(random.next(), radix: 16)
                return String(repeating: "0", count: 16 - hex.count) + hex + "-\(layer)"
            }
        }

        /// The layers that hold entries, top-first, in a stack of `layerCount` layers.
        public func layerIndices(layerCount: Int) -> [Int] { layers ?? Array(0..<layerCount) }
    }

    /// A chain of `levels` directories `d1/…/d<levels>` under `path` in `layer`, ending in an
    /// empty file `leaf`: each level is a directory that only `layer` holds, so overlay looks
    /// for it in every other layer too.
    public struct DeepPath: Codable, Sendable, Hashable {
        public var path: String
        public var levels: Int
        public var layer: Int
        public init(path: String, levels: Int, layer: Int) { self.path = path; self.levels = levels; self.layer = layer }

        /// `<path>/d1/…/d<levels>/leaf`.
        public var leafPath: String { ([path] + (1...levels).map { "d\($0)" } + ["leaf"]).joined(separator: "/") }
    }

    public static let maximumDeepLevels = 256

    public var whiteouts: [Whiteout]
    public var opaqueDirectories: [OpaqueDirectory]
    public var mergedDirectories: [MergedDirectory]
    public var wideDirectories: [WideDirectory]
    public var deepPaths: [DeepPath]

    public init(
        whiteouts: [Whiteout] = [], opaqueDirectories: [OpaqueDirectory] = [], mergedDirectories: [MergedDirectory] = [],
        wideDirectories: [WideDirectory] = [], deepPaths: [DeepPath] = []
    ) {
        self.whiteouts = whiteouts
        self.opaqueDirectories = opaqueDirectories
        self.mergedDirectories = mergedDirectories
        self.wideDirectories = wideDirectories
        self.deepPaths = deepPaths
    }

    /// Checks paths, layers and counts; throws a message that names the field.
    func validate(layerCount: Int) throws {
        func check(_ field: String, path: String, layer: Int?) throws {
            try FileSpec.validate(path: path)
            if let layer, !(0..<layerCount).contains(layer) {
                throw WorkloadError.invalid("\(field)[\(path)].layer", "\(layer) is outside 0..<\(layerCount)")
            }
        }
        for item in whiteouts { try check("whiteouts", path: item.path, layer: item.layer) }
        for item in opaqueDirectories {
            try check("opaqueDirectories", path: item.path, layer: item.layer)
            guard item.files >= 0 else { throw WorkloadError.invalid("opaqueDirectories[\(item.path)].files", "must not be negative") }
        }
        for item in mergedDirectories {
            try check("mergedDirectories", path: item.path, layer: nil)
            guard item.filesPerLayer >= 0 else { throw WorkloadError.invalid("mergedDirectories[\(item.path)].filesPerLayer", "must not be negative") }
        }
        for item in wideDirectories {
            try check("wideDirectories", path: item.path, layer: nil)
            for layer in item.layers ?? [] { try check("wideDirectories", path: item.path, layer: layer) }
            guard item.entriesPerLayer >= 0 else { throw WorkloadError.invalid("wideDirectories[\(item.path)].entriesPerLayer", "must not be negative") }
        }
        for item in deepPaths {
            try check("deepPaths", path: item.path, layer: item.layer)
            guard (1...Self.maximumDeepLevels).contains(item.levels) else {
                throw WorkloadError.invalid("deepPaths[\(item.path)].levels", "\(item.levels) is outside 1...\(Self.maximumDeepLevels)")
            }
        }
    }
}

extension LayerStackSpec {
    /// A spec with files and directory shapes.
    public init(layerCount: Int, seed: UInt64, files: [FileSpec] = [], shapes: StackShapes?) {
        self.init(layerCount: layerCount, seed: seed, files: files)
        self.shapes = shapes
    }
}
