import OverlaySystem

/// An imported image as a probe's workload: its layers as a ``LayerStack`` any backend mounts,
/// and the image's own files and names to measure.
///
/// The image directory is only read. Each stack gets its own container layer (upper, work,
/// merged) in a scratch directory, through ``LayerStack/adopting(lower:upper:work:scratch:)``,
/// so one import serves every backend and run, and a copy-up never touches it.
public struct ImageWorkload: Sendable {
    /// A regular file drawn for a copy-up sample, with the class it was drawn from.
    public struct Draw: Sendable, Hashable {
        public var file: ImageCatalog.Entry
        public var sizeClass: ImageSizeClass
    }

    /// A name to look up, by what overlay must do to resolve it.
    public struct LookupName: Sendable, Hashable {
        public enum Kind: String, Sendable, CaseIterable {
            /// A regular file whose topmost copy is in `layer`.
            case hit
            /// A name no layer holds, in a directory merged through `layer` layers.
            case miss
            /// A name a whiteout in `layer` hides.
            case whiteout
            /// A directory, merged down to `layer`.
            case directory
        }
        public var path: String
        public var kind: Kind
        /// Top-first layer index the lookup ends in (see ``Kind``).
        public var layer: Int
        public var found: Bool { kind == .hit || kind == .directory }
    }

    public let catalog: ImageCatalog
    public var directory: String { catalog.directory }
    public var image: ImportedImage { catalog.image }

    /// Loads `directory/image.json` and catalogs the layers.
    public init(directory: String) throws {
        catalog = try ImageCatalog(directory: directory)
    }

    /// The layer directories, top-first.
    public var lowerPaths: [String] { image.layers.map { directory + "/" + $0.id + "/diff" } }

    /// The image's layers under a new container layer made in `scratch` (which must exist), in
    /// overlay2's layout: `scratch/overlay2/lower<i>/diff` and `l/L<i>` are symlinks to the
    /// image's layers (as ``LayerStack/adopting(lower:upper:work:scratch:)`` makes them), and the
    /// container's `diff`, `work` and `merged` are real directories, so what a run copies up is
    /// measured where it lands.
    public func stack(in scratch: String) throws -> LayerStack {
        let cwd = FileDescriptor.currentWorkingDirectory
        let root = scratch + "/overlay2"
        try cwd.makeDirectory(root, mode: 0o700)
        try cwd.makeDirectory(root + "/l", mode: 0o700)
        var layers: [LayerStack.Layer] = []
        for (index, path) in lowerPaths.enumerated() {
            let layer = LayerStack.Layer(id: "lower\(index)", shortName: "L\(index)", directory: root + "/lower\(index)")
            try cwd.makeDirectory(layer.directory, mode: 0o700)
            try cwd.makeSymlink(layer.diff, target: path)
            try cwd.makeSymlink(root + "/l/" + layer.shortName, target: path)
            layers.append(layer)
        }
        let container = LayerStack.Layer(id: "container", shortName: "C", directory: root + "/container")
        try cwd.makeDirectory(container.directory, mode: 0o700)
        for path in [container.diff, container.work, container.merged] { try cwd.makeDirectory(path, mode: 0o755) }
        return LayerStack(root: root, spec: LayerStackSpec(layerCount: layers.count, seed: 0), lowerLayers: layers, container: container)
    }

    /// `count` regular files, drawn without replacement, by size class: classes take turns
    /// (smallest first), each giving a file drawn at random from those it has left, so small and
    /// large files are both measured whatever their share of the image. The same seed gives the
    /// same draw. Fewer come back if the image has fewer files.
    public func sampleFiles(_ count: Int, seed: UInt64) -> [Draw] {
        var random = SplitMix64(seed: seed)
        var pools: [(ImageSizeClass, [ImageCatalog.Entry])] = Dictionary(grouping: catalog.regularFiles) { ImageSizeClass(size: $0.size) }
            .sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var draws: [Draw] = []
        while draws.count < count, !pools.isEmpty {
            var index = 0
            while index < pools.count && draws.count < count {
                let pick = Int(random.next() % UInt64(pools[index].1.count))
                draws.append(Draw(file: pools[index].1.remove(at: pick), sizeClass: pools[index].0))
                if pools[index].1.isEmpty { pools.remove(at: index) } else { index += 1 }
            }
        }
        return draws
    }

    /// ``sampleFiles(_:seed:)``'s draw cut into its turns: each round holds at most one file per
    /// size class, smallest first. `warmup` whole rounds come first, then rounds until `files`
    /// more files are drawn (the last of them may stop part-way, after its smaller classes).
    /// A class appears in consecutive rounds from the first until it runs out of files.
    public func sampleRounds(warmup: Int, files: Int, seed: UInt64) -> [[Draw]] {
        // Round r holds every class with more than r files, so the warm-up rounds hold these.
        let warmupFiles = Dictionary(grouping: catalog.regularFiles) { ImageSizeClass(size: $0.size) }.values
            .reduce(0) { $0 + min($1.count, warmup) }
        var rounds: [[Draw]] = []
        for draw in sampleFiles(warmupFiles + files, seed: seed) {
            if let last = rounds.last?.last, last.sizeClass < draw.sizeClass {
                rounds[rounds.count - 1].append(draw)
            } else {
                rounds.append([draw])
            }
        }
        return rounds
    }

    /// Names to look up across the layers, top to bottom: per layer, a file whose topmost copy
    /// is there (seeded pick), and a directory merged down to it; a name in the deepest such
    /// directory that no layer holds; a whited-out name per layer that has one.
    public func lookupNames(seed: UInt64) -> [LookupName] {
        var random = SplitMix64(seed: seed)
        var names: [LookupName] = []
        let byLayer = Dictionary(grouping: catalog.regularFiles, by: \.layer)
        for layer in image.layers.indices {
            if let files = byLayer[layer], !files.isEmpty {
                names.append(LookupName(path: files[Int(random.next() % UInt64(files.count))].path, kind: .hit, layer: layer))
            }
        }
        // A directory's lookup goes through every layer that holds it: the bottom-most such
        // layer is where it ends. Take the directory that reaches deepest, then the deepest path.
        let directories = mergedDepths()
        // Deepest reach first, then the shortest path, then by name: the same image always gives the same pick.
        if let deepest = directories.sorted(by: { ($1.value, $0.key.count, $0.key) < ($0.value, $1.key.count, $1.key) }).first {
            names.append(LookupName(path: deepest.key, kind: .directory, layer: deepest.value))
            let absent = (deepest.key.isEmpty ? "" : deepest.key + "/") + "overlaybench-absent-\(random.next() % 1_000_000)"
            names.append(LookupName(path: absent, kind: .miss, layer: deepest.value))
        }
        var seenLayers = Set<Int>()
        for whiteout in catalog.whiteouts where !seenLayers.contains(whiteout.layer) && !isVisible(whiteout.path) && parentVisible(whiteout.path) {
            seenLayers.insert(whiteout.layer)
            names.append(LookupName(path: whiteout.path, kind: .whiteout, layer: whiteout.layer))
        }
        return names
    }

    /// Regular files of at least `minimumSize` bytes, one per layer that has one (the largest),
    /// top to bottom: what a read probe reads where each layer keeps it.
    public func readFiles(minimumSize: Int64) -> [ImageCatalog.Entry] {
        let byLayer = Dictionary(grouping: catalog.regularFiles.filter { $0.size >= minimumSize }, by: \.layer)
        return byLayer.keys.sorted().compactMap { byLayer[$0]?.max { ($0.size, $1.path) < ($1.size, $0.path) } }
    }

    private func isVisible(_ path: String) -> Bool {
        catalog.entries.contains { $0.path == path }
    }

    private func parentVisible(_ path: String) -> Bool {
        guard let slash = path.lastIndex(of: "/") else { return true }
        let parent = String(path[..<slash])
        return catalog.entries.contains { $0.path == parent && $0.type == .directory }
    }

    /// For each visible directory, the bottom-most layer its merged lookup reaches: the lowest
    /// layer that holds it before an opaque copy stops the merge.
    private func mergedDepths() -> [String: Int] {
        var reach: [String: Int] = ["": image.layers.count - 1]
        // Parents first, so a directory's merge never goes below its parent's.
        let visible = catalog.entries.filter { $0.type == .directory }.map(\.path).sorted { $0.count < $1.count }
        let opaque = Set(catalog.opaqueDirectories.map { "\($0.layer)/\($0.path)" })
        var stoppedAt: [String: Int] = [:]
        for (index, root) in lowerPaths.enumerated() {
            for path in visible where stoppedAt[path] == nil {
                let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
                if let stop = stoppedAt[parent], stop < index {
                    stoppedAt[path] = stop
                    continue
                }
                guard let status = FileSystem.status(root + "/" + path) else { continue }
                guard status.type == .directory else {
                    stoppedAt[path] = index
                    continue
                }
                reach[path] = index
                if opaque.contains("\(index)/\(path)") { stoppedAt[path] = index }
            }
        }
        reach[""] = nil
        return reach
    }
}
