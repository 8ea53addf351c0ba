import OverlayCore
import OverlayStatistics
import OverlaySystem

/// Path lookup and readdir cost against the number of lower layers.
///
/// For each depth d it builds, per backend, a d-layer stack holding a file in the top, the middle
/// (layer d/2) and the bottom lower layer; a name whiteout-hidden in the top layer (over a file
/// in the bottom one); a directory `merged` present in every layer; a chain of `deepLevels`
/// directories under it that only the bottom layer holds; and it asks for a name no layer holds.
/// Each sample times one `statx(2)` relative to the merged root, and only that syscall sits
/// between the clock reads. Overlay stops at the first non-directory or whiteout, so `top` should
/// stay flat while `bottom`, `negative` and `directory` grow with d (`fs/overlayfs/namei.c`).
///
/// Results:
/// - metric `stat` (ns), parameters `depth`, `cache`, `position`, `mountMethod` (and `coldMethod`
///   when cold, `deepLevels` for `deep`);
/// - metric `statSlope` (ns/layer), one per backend × cache × position: the least-squares slope
///   of every raw `stat` sample against depth, as the single sample, with its 95 % t interval in
///   `slopeLow`/`slopeHigh` and the `intercept`, `rSquared` and point count `points` beside it;
/// - metric `readdir` (ns): open, count every entry, close a freshly opened merged directory;
///   `sweep=depth` reads `readdirWidth` entries per layer at each depth, `sweep=width` reads
///   `width` entries per layer at `widthDepth` layers.
/// Backends are interleaved sample by sample. A lookup whose outcome is wrong (a whiteout that
/// does not hide, a file that is not found) fails the run: it would not be a data point.
public struct LookupProbe {
    public struct Configuration: Sendable {
        public var depths: [Int] = LookupProbe.defaultDepths
        public var samples: Int = 10
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var seed: UInt64 = 1
        /// Directory levels of the `deep` path below `merged`.
        public var deepLevels: Int = 8
        /// Whether to time readdir at all.
        public var readdir = true
        /// Entries per layer of the directory the depth sweep reads.
        public var readdirWidth: Int = 10
        /// Entries per layer for the width sweep; empty skips it.
        public var widths: [Int] = LookupProbe.defaultWidths
        /// Layers of the width sweep's stack.
        public var widthDepth: Int = 4
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    /// Where the name looked up lives.
    public enum Position: String, CaseIterable, Sendable {
        case top, middle, bottom, negative, whiteout, directory, deep
    }

    public static let defaultDepths = [1, 2, 4, 8, 16, 32, 64, 128, 256, 500]
    public static let defaultWidths = [10, 100, 1000, 10000]
    public static let name = "lookup"
    public static let coldMethod = "drop_caches x2"
    static let fuseColdNote = "fuse-overlayfs keeps its own node cache across drop_caches: cold drops only the kernel's side"
    static let mergedDirectory = "merged"
    static let readdirDirectory = "wide"

    public let configuration: Configuration
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.backends = backends
        self.log = log
    }

    // MARK: - Stacks

    static func path(_ position: Position, deepLevels: Int) -> String {
        switch position {
        case .top, .middle, .bottom: position.rawValue
        case .negative: "absent"
        case .whiteout: "hidden"
        case .directory: mergedDirectory
        case .deep: StackShapes.DeepPath(path: mergedDirectory, levels: deepLevels, layer: 0).leafPath
        }
    }

    /// The stack for one depth.
    func lookupSpec(depth: Int) -> LayerStackSpec {
        var files = [
            FileSpec(path: "top", size: 0, layer: 0),
            FileSpec(path: "middle", size: 0, layer: depth / 2),
            FileSpec(path: "bottom", size: 0, layer: depth - 1),
        ]
        if depth > 1 { files.append(FileSpec(path: "hidden", size: 0, layer: depth - 1)) }
        var shapes = StackShapes(
            whiteouts: [.init(path: "hidden", layer: 0)],
            mergedDirectories: [.init(path: Self.mergedDirectory, filesPerLayer: 1)],
            deepPaths: [.init(path: Self.mergedDirectory, levels: configuration.deepLevels, layer: depth - 1)])
        if configuration.readdir {
            shapes.wideDirectories = [.init(path: Self.readdirDirectory, entriesPerLayer: configuration.readdirWidth)]
        }
        return LayerStackSpec(layerCount: depth, seed: configuration.seed, files: files, shapes: shapes)
    }

    /// The stack for the width sweep: one directory per width.
    func widthSpec() -> LayerStackSpec {
        let shapes = StackShapes(wideDirectories: configuration.widths.map {
            .init(path: "\(Self.readdirDirectory)-\($0)", entriesPerLayer: $0)
        })
        return LayerStackSpec(layerCount: configuration.widthDepth, seed: configuration.seed, shapes: shapes)
    }

    /// Bytes of disk the run needs (inodes mostly; a generous 4 KiB each).
    public func estimatedBytes() -> Int64 {
        let perDepth = configuration.depths.reduce(Int64(0)) { total, depth in
            total + LayerStackBuilder(spec: lookupSpec(depth: depth)).estimatedBytes
                + Int64(depth) * Int64(configuration.readdirWidth + configuration.deepLevels + 8) * 4096
        }
        let widths = Int64(configuration.widths.reduce(0, +) * configuration.widthDepth) * 4096
        return (perDepth + widths) * 2 * Int64(backends.count)
    }

    // MARK: - Running

    typealias Views = [(stack: LayerStack, view: any MergedView)]

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        var lookups: [FitKey: (x: [Double], y: [Double])] = [:]
        for depth in configuration.depths {
            try SignalTrap.check()
            try withViews(named: "lookup-d\(depth)", spec: lookupSpec(depth: depth), in: runDirectory, mounts: &mounts, book: book) { views in
                try measureLookups(views, depth: depth, book: book, into: &lookups)
                if configuration.readdir {
                    try measureReaddir(views, path: Self.readdirDirectory, width: configuration.readdirWidth, depth: depth,
                                       sweep: "depth", book: book)
                }
            }
        }
        recordFits(lookups, book: book)
        if configuration.readdir && !configuration.widths.isEmpty {
            try SignalTrap.check()
            try withViews(named: "readdir-w", spec: widthSpec(), in: runDirectory, mounts: &mounts, book: book) { views in
                for width in configuration.widths {
                    try measureReaddir(views, path: "\(Self.readdirDirectory)-\(width)", width: width,
                                       depth: configuration.widthDepth, sweep: "width", book: book)
                }
            }
        }
    }

    /// Builds and mounts one stack per backend, runs `body`, and unmounts them all on every path.
    private func withViews(
        named name: String, spec: LayerStackSpec, in runDirectory: String,
        mounts: inout [RunEnvironment.MountRecord], book: SampleBook, _ body: (Views) throws -> Void
    ) throws {
        let set = MergedViewSet(log: log)
        defer { set.unmountAll() }
        for (index, backend) in backends.enumerated() {
            log.info("generating \(spec.layerCount) layer(s) for \(backend.identifier) (\(name))")
            let (_, view) = try set.mount(backend, spec: spec, in: runDirectory + "/\(name)-\(backend.identifier)-\(index)",
                                          options: configuration.mountOptions, probe: Self.name, mounts: &mounts)
            log.verbose("mounted \(backend.identifier) by \(view.mountMethod)")
        }
        try body(set.views)
        for (stack, view) in set.views {
            var parameters: [String: ParameterValue] = [
                "depth": .int(Int64(spec.layerCount)), "stack": .string(name),
                "mountOptions": .string(Self.options(of: view, configuration)), "fs": .string(configuration.fs),
            ]
            parameters["mountMethod"] = .string(view.mountMethod)
            try Footprint.record(probe: Self.name, view: view, workPath: stack.workPath, parameters: parameters, book: book)
        }
    }

    struct FitKey: Hashable {
        var backend: String
        var mountOptions: String
        var cache: CacheState
        var position: Position
    }

    private func baseParameters(_ view: any MergedView, cache: CacheState, depth: Int) -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [
            "depth": .int(Int64(depth)), "cache": .string(cache.rawValue),
            "mountMethod": .string(view.mountMethod), "mountOptions": .string(Self.options(of: view, configuration)),
            "fs": .string(configuration.fs),
        ]
        if cache == .cold { parameters["coldMethod"] = .string(Self.coldMethod) }
        return parameters
    }

    private func measureLookups(_ views: Views, depth: Int, book: SampleBook, into fits: inout [FitKey: (x: [Double], y: [Double])]) throws {
        let total = configuration.samples + configuration.warmup
        for cache in configuration.caches {
            for i in 0..<total {
                for position in Position.allCases {
                    let path = Self.path(position, deepLevels: configuration.deepLevels)
                    let expectFound = position != .negative && position != .whiteout
                    for (_, view) in views {
                        try SignalTrap.check()
                        let calls = ViewCalls(view)
                        try prepare(cache) { _ = calls.statxOnly(path) }
                        let start = MonotonicClock.now()
                        let failure = calls.statxOnly(path)
                        let elapsed = MonotonicClock.now() - start
                        try verify(failure, expectFound: expectFound, path: path, view: view)
                        guard i >= configuration.warmup else { continue }
                        var parameters = baseParameters(view, cache: cache, depth: depth)
                        parameters["position"] = .string(position.rawValue)
                        if position == .deep { parameters["deepLevels"] = .int(Int64(configuration.deepLevels)) }
                        let sampleKey = SampleBook.Key(probe: Self.name, backend: view.backend, metric: "stat",
                                                       unit: "ns", parameters: parameters)
                        book.record(Double(elapsed), for: sampleKey)
                        if cache == .cold && view.backend == "fuse" && i == configuration.warmup {
                            book.warn(Self.fuseColdNote, for: sampleKey)
                        }
                        let key = FitKey(backend: view.backend, mountOptions: Self.options(of: view, configuration), cache: cache, position: position)
                        fits[key, default: ([], [])].x.append(Double(depth))
                        fits[key, default: ([], [])].y.append(Double(elapsed))
                    }
                }
                log.progress("lookup depth \(depth) \(cache.rawValue)", done: i + 1, of: total)
            }
        }
    }

    private func verify(_ failure: Errno?, expectFound: Bool, path: String, view: any MergedView) throws {
        switch (failure, expectFound) {
        case (nil, true), (.noSuchFileOrDirectory?, false): return
        case (nil, false):
            throw ProbeError.verificationFailed("\(view.backend): \(path) is visible, but it is hidden or absent in every layer")
        case (let errno?, _):
            throw ProbeError.verificationFailed("\(view.backend): statx \(path): \(errno) (\(errno.name))")
        }
    }

    private func measureReaddir(_ views: Views, path: String, width: Int, depth: Int, sweep: String, book: SampleBook) throws {
        let total = configuration.samples + configuration.warmup
        let expected = width * depth
        for cache in configuration.caches {
            for i in 0..<total {
                for (_, view) in views {
                    try SignalTrap.check()
                    try prepare(cache) { _ = try countEntries(view, path) }
                    let start = MonotonicClock.now()
                    let count = try countEntries(view, path)
                    let elapsed = MonotonicClock.now() - start
                    guard count == expected else {
                        throw ProbeError.verificationFailed("\(view.backend): \(path) lists \(count) entries, expected \(width) × \(depth) layers = \(expected)")
                    }
                    guard i >= configuration.warmup else { continue }
                    var parameters = baseParameters(view, cache: cache, depth: depth)
                    parameters["width"] = .int(Int64(width))
                    parameters["sweep"] = .string(sweep)
                    book.record(Double(elapsed), for: .init(probe: Self.name, backend: view.backend, metric: "readdir",
                                                            unit: "ns", parameters: parameters))
                }
                log.progress("readdir \(sweep) \(sweep == "depth" ? depth : width) \(cache.rawValue)", done: i + 1, of: total)
            }
        }
    }

    /// `open(O_DIRECTORY)`, count with `readdir(3)`, `close`: what one sample times.
    private func countEntries(_ view: any MergedView, _ path: String) throws -> Int {
        let fd = try FileDescriptor.open(path, [.readOnly, .directory], relativeTo: view.root)
        let count: Int
        do { count = try fd.countEntries() } catch {
            fd.closeIgnoringErrors()
            throw error
        }
        try fd.closeChecked(path: path)
        return count
    }

    /// The options a view was mounted with: its own (a ``MountVariantBackend``) or the configured ones.
    static func options(of view: any MergedView, _ configuration: Configuration) -> String {
        (view.requestedOptions ?? configuration.mountOptions).description
    }

    /// Warm: do the operation once so the dentries are cached. Cold: drop caches (twice).
    private func prepare(_ cache: CacheState, warm: () throws -> Void) throws {
        switch cache {
        case .warm: try warm()
        case .cold: try PageCache.drop()
        }
    }

    /// One least-squares line of ns against depth per backend × cache × position.
    private func recordFits(_ fits: [FitKey: (x: [Double], y: [Double])], book: SampleBook) {
        let depths = configuration.depths.sorted()
        var variants: [(backend: String, mountOptions: String)] = []
        for key in fits.keys where !variants.contains(where: { $0 == (key.backend, key.mountOptions) }) {
            variants.append((key.backend, key.mountOptions))
        }
        variants.sort { ($0.backend, $0.mountOptions) < ($1.backend, $1.mountOptions) }
        for (backend, mountOptions) in variants {
            for cache in configuration.caches {
                for position in Position.allCases {
                    guard let points = fits[FitKey(backend: backend, mountOptions: mountOptions, cache: cache, position: position)],
                          points.x.count >= 3, Set(points.x).count >= 2 else { continue }
                    let fit = LeastSquares.fit(x: points.x, y: points.y)
                    var parameters: [String: ParameterValue] = [
                        "cache": .string(cache.rawValue), "position": .string(position.rawValue),
                        "depths": .string(depths.map(String.init).joined(separator: ",")),
                        "fit": .string(fit.method), "level": .double(fit.slopeCI.level),
                        "slopeLow": .double(fit.slopeCI.lower), "slopeHigh": .double(fit.slopeCI.upper),
                        "intercept": .double(fit.intercept), "rSquared": .double(fit.rSquared),
                        "points": .int(Int64(fit.n)),
                        "mountOptions": .string(mountOptions), "fs": .string(configuration.fs),
                    ]
                    if cache == .cold { parameters["coldMethod"] = .string(Self.coldMethod) }
                    book.record(fit.slope, for: .init(probe: Self.name, backend: backend, metric: "statSlope",
                                                      unit: "ns/layer", parameters: parameters))
                }
            }
        }
    }
}
