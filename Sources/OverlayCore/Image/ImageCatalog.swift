import OverlaySystem

/// What an imported image's merged view holds, worked out from its layer directories the way
/// overlay looks names up (`Documentation/filesystems/overlayfs.rst`): layers top-first, the
/// first layer holding a name decides it; a whiteout hides the name below; a non-directory
/// hides everything below it; an opaque directory hides the layers below it.
///
/// Each visible name carries the layer its topmost copy is in, so a workload can pick files by
/// layer and by size, and the `image` command can describe the image.
public struct ImageCatalog: Sendable {
    public struct Entry: Sendable, Hashable {
        /// Relative to the merged root, no leading `/`.
        public var path: String
        public var type: FileType
        public var size: Int64
        /// Top-first index of the layer whose copy the merged view shows.
        public var layer: Int
        /// Components in the path (`a/b/c` is 3).
        public var depth: Int { path.split(separator: "/").count }
    }

    /// What one layer holds, and how much of it the layers above hide.
    public struct LayerSummary: Sendable, Equatable {
        public var regularFiles = 0
        public var bytes: Int64 = 0
        public var directories = 0
        public var whiteouts = 0
        public var opaqueDirectories = 0
        /// Names this layer holds that an upper layer hides or replaces (directories merge and
        /// are not counted).
        public var hidden = 0
        /// Regular files the merged view shows from this layer.
        public var visibleFiles = 0
        public var visibleBytes: Int64 = 0
    }

    public let directory: String
    public let image: ImportedImage
    /// Visible names, sorted by path.
    public let entries: [Entry]
    /// Top-first, like ``ImportedImage/layers``.
    public let layers: [LayerSummary]
    /// Whiteouts and opaque directories by layer (top-first index), sorted by path.
    public let whiteouts: [(layer: Int, path: String)]
    public let opaqueDirectories: [(layer: Int, path: String)]

    /// Reads `directory/image.json` and walks every layer.
    public init(directory: String) throws {
        let image = try ImportedImage.load(directory)
        self.directory = directory
        self.image = image
        let opaque = image.rootless ? "user.overlay.opaque" : "trusted.overlay.opaque"
        var walk = Walk(opaqueAttribute: opaque, layerCount: image.layers.count)
        for (index, layer) in image.layers.enumerated() {
            let path = directory + "/" + layer.id + "/diff"
            let root: FileDescriptor
            do { root = try FileDescriptor.open(path, [.readOnly, .directory, .noFollow]) } catch {
                throw ImageError.system(error, path)
            }
            defer { root.closeIgnoringErrors() }
            do { try walk.directory(root, path: "", layer: index) } catch let error as SystemError {
                throw ImageError.system(error, path)
            }
        }
        entries = walk.merged.compactMap { path, node in
            node.isWhiteout ? nil : Entry(path: path, type: node.type, size: node.size, layer: node.layer)
        }.sorted { $0.path < $1.path }
        for entry in entries where entry.type == .regular {
            walk.summaries[entry.layer].visibleFiles += 1
            walk.summaries[entry.layer].visibleBytes += entry.size
        }
        layers = walk.summaries
        whiteouts = walk.whiteouts.sorted { ($0.path, $0.layer) < ($1.path, $1.layer) }
        opaqueDirectories = walk.opaque.sorted { ($0.path, $0.layer) < ($1.path, $1.layer) }
    }

    /// The merged view's regular files.
    public var regularFiles: [Entry] { entries.filter { $0.type == .regular } }

    /// The visible entry with the most path components (the first such, by path).
    public var deepestPath: Entry? {
        entries.reduce(nil) { best, entry in (best.map { entry.depth > $0.depth } ?? true) ? entry : best }
    }

    /// Regular files and their bytes per size class, classes with no file left out.
    public func sizeHistogram() -> [(sizeClass: ImageSizeClass, files: Int, bytes: Int64)] {
        var counts: [ImageSizeClass: (Int, Int64)] = [:]
        for file in regularFiles {
            let sizeClass = ImageSizeClass(size: file.size)
            counts[sizeClass, default: (0, 0)].0 += 1
            counts[sizeClass, default: (0, 0)].1 += file.size
        }
        return counts.keys.sorted().map { ($0, counts[$0]!.0, counts[$0]!.1) }
    }

    /// Overlay's lookup over the layers, one layer after another, top first.
    private struct Walk {
        struct Node {
            var type: FileType
            var size: Int64
            var layer: Int
            var isWhiteout: Bool
            /// The layer that made this directory opaque: layers below it are hidden here.
            var opaqueAt: Int?
        }

        let opaqueAttribute: String
        var merged: [String: Node] = [:]
        var summaries: [LayerSummary]
        var whiteouts: [(layer: Int, path: String)] = []
        var opaque: [(layer: Int, path: String)] = []

        init(opaqueAttribute: String, layerCount: Int) {
            self.opaqueAttribute = opaqueAttribute
            summaries = Array(repeating: LayerSummary(), count: layerCount)
        }

        mutating func directory(_ fd: FileDescriptor, path: String, layer: Int) throws {
            for child in try fd.entries() {
                let childPath = path.isEmpty ? child.name : path + "/" + child.name
                let status = try fd.status(of: child.name)
                let whiteout = status.isWhiteoutDevice
                switch status.type {
                case .regular:
                    summaries[layer].regularFiles += 1
                    summaries[layer].bytes += status.size
                case .directory: summaries[layer].directories += 1
                default: break
                }
                if whiteout {
                    summaries[layer].whiteouts += 1
                    whiteouts.append((layer, childPath))
                }
                var isOpaque = false
                if status.type == .directory {
                    isOpaque = try ExtendedAttributes.get(opaqueAttribute, path: ExtendedAttributes.path(child.name, in: fd)) == Array("y".utf8)
                    if isOpaque {
                        summaries[layer].opaqueDirectories += 1
                        opaque.append((layer, childPath))
                    }
                }
                if var existing = merged[childPath] {
                    // An upper layer decided this name: a directory merges with a directory
                    // below unless it is opaque; anything else hides this copy.
                    guard !existing.isWhiteout, existing.type == .directory, status.type == .directory,
                          existing.opaqueAt.map({ $0 >= layer }) ?? true else {
                        summaries[layer].hidden += 1
                        continue
                    }
                    if isOpaque && existing.opaqueAt == nil {
                        existing.opaqueAt = layer
                        merged[childPath] = existing
                    }
                } else {
                    merged[childPath] = Node(type: status.type, size: status.type == .regular ? status.size : 0, layer: layer,
                                             isWhiteout: whiteout, opaqueAt: isOpaque ? layer : nil)
                    if status.type != .directory { continue }
                }
                let sub = try FileDescriptor.open(child.name, [.readOnly, .directory, .noFollow], relativeTo: fd)
                defer { sub.closeIgnoringErrors() }
                try directory(sub, path: childPath, layer: layer)
            }
        }
    }
}
