import OverlaySystem

/// A layer stack on disk in Docker overlay2's layout:
///
/// ```
/// <root>/l/<SHORT>          -> ../<id>/diff     short links that keep mount data under a page
/// <root>/<id>/diff/         the layer's files
/// <root>/<id>/link          the layer's short name
/// <root>/<id>/lower         its parents, top-first: l/<SHORT>:l/<SHORT>…  (absent for the base)
/// <root>/<container>/diff/  the upper directory
/// <root>/<container>/work/  overlay's work directory
/// <root>/<container>/merged/ the mount point
/// ```
public struct LayerStack: Sendable {
    /// One layer directory.
    public struct Layer: Sendable, Hashable {
        /// 64 hex digits, as Docker names layers.
        public var id: String
        /// 26 characters, as Docker's short links.
        public var shortName: String
        public var directory: String
        public var diff: String { directory + "/diff" }
        public var work: String { directory + "/work" }
        public var merged: String { directory + "/merged" }
    }

    /// The overlay2 directory.
    public let root: String
    public let spec: LayerStackSpec
    /// Lower layers, top-first (index 0 is `lowerdir`'s first entry).
    public let lowerLayers: [Layer]
    /// The container layer: its `diff` is the upper directory.
    public let container: Layer

    public var upperPath: String { container.diff }
    public var workPath: String { container.work }
    public var mergedPath: String { container.merged }
    public var lowerPaths: [String] { lowerLayers.map(\.diff) }

    /// The short-link path of a lower layer relative to ``root`` (`l/ABC…`), as Docker mounts them.
    public func relativeLink(_ layer: Layer) -> String { "l/" + layer.shortName }

    /// The content of `path` as generated in any layer.
    public func pattern(for path: String) -> ContentPattern { ContentPattern(seed: spec.seed, path: path) }

    /// The generated file at `path`, in the topmost layer that holds it.
    public func file(_ path: String) -> FileSpec? {
        spec.files.filter { $0.path == path }.min { $0.layer < $1.layer }
    }

    init(root: String, spec: LayerStackSpec, lowerLayers: [Layer], container: Layer) {
        self.root = root
        self.spec = spec
        self.lowerLayers = lowerLayers
        self.container = container
    }
}
