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
/// Cold samples also record `readBytes` (bytes, parameter `of`): what the process read from
/// storage during the timed call (`/proc/self/io`), which shows what a cold lookup really fetched.
/// Every round's trials (each position and readdir on each backend) are shuffled. A lookup whose outcome is wrong (a whiteout that
/// does not hide, a file that is not found) fails the run: it would not be a data point.
public struct LookupProbe {
    public struct Configuration: Sendable {
        public var sampling = SamplingPlan()
        public var depths: [Int] = LookupProbe.defaultDepths
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
        public init() {}
    }

    /// Where the name looked up lives.
    public enum Position: String, CaseIterable, Sendable {
        case top, middle, bottom, negative, whiteout, directory, deep
    }

    public static let defaultDepths = [1, 2, 4, 8, 16, 32, 64, 128, 256, 500]
    public static let defaultWidths = [10, 100, 1000, 10000]
    public static let name = "lookup"
    static func ownNodeCacheNote(_ backend: String) -> String {
        "\(backend) keeps its own node cache across drop_caches: cold drops only the kernel's side"
    }
    static let noMergedDirectoryReason = "no merged directory to read: the backend serves its view in-process, so readdir has nothing to open"
    static let mergedDirectory = "merged"
    static let readdirDirectory = "wide"

    public let configuration: Configuration
    let sampler: Sampler

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
        return LayerStackSpec(layerCount: depth, seed: plan.seed, files: files, shapes: shapes)
    }

    /// The stack for the width sweep: one directory per width.
    func widthSpec() -> LayerStackSpec {
        let shapes = StackShapes(wideDirectories: configuration.widths.map {
            .init(path: "\(Self.readdirDirectory)-\($0)", entriesPerLayer: $0)
        })
        return LayerStackSpec(layerCount: configuration.widthDepth, seed: plan.seed, shapes: shapes)
    }

    /// Bytes of disk the run needs (inodes mostly; a generous 4 KiB each).
    public func estimatedBytes() -> Int64 {
        let perDepth = configuration.depths.reduce(Int64(0)) { total, depth in
            total + LayerStackBuilder(spec: lookupSpec(depth: depth)).estimatedBytes
                + Int64(depth) * Int64(configuration.readdirWidth + configuration.deepLevels + 8) * 4096
        }
        let widths = Int64(configuration.widths.reduce(0, +) * configuration.widthDepth) * 4096
        return (perDepth + widths) * 2 * Int64(sampler.backends.count)
    }

    // MARK: - Running

    typealias Views = [(stack: LayerStack, view: any MergedView)]

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        var lookups: [FitKey: (x: [Double], y: [Double])] = [:]
        for depth in configuration.depths {
            try SignalTrap.check()
            try withViews(named: "lookup-d\(depth)", spec: lookupSpec(depth: depth), in: runDirectory, mounts: &mounts, book: book) { views in
                for cache in plan.caches {
                    try sampler.run("lookup depth \(depth)", cache: cache, book: book) { _ in
                        try views.flatMap { stack, view in
                            try Position.allCases.map { try statTrial(stack, view, position: $0, depth: depth) }
                                + (configuration.readdir
                                    ? try readdirTrials(stack, view, path: Self.readdirDirectory, width: configuration.readdirWidth,
                                                        depth: depth, sweep: "depth", cache: cache, book: book)
                                    : [])
                        }
                    }
                    collect(views, depth: depth, cache: cache, book: book, into: &lookups)
                }
            }
        }
        recordFits(lookups, book: book)
        if configuration.readdir && !configuration.widths.isEmpty {
            try SignalTrap.check()
            try withViews(named: "readdir-w", spec: widthSpec(), in: runDirectory, mounts: &mounts, book: book) { views in
                for cache in plan.caches {
                    try sampler.run("readdir width", cache: cache, book: book) { _ in
                        try views.flatMap { stack, view in
                            try configuration.widths.flatMap { width in
                                try readdirTrials(stack, view, path: "\(Self.readdirDirectory)-\(width)", width: width,
                                                  depth: configuration.widthDepth, sweep: "width", cache: cache, book: book)
                            }
                        }
                    }
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
        for (index, backend) in sampler.backends.enumerated() {
            log.info("generating \(spec.layerCount) layer(s) for \(backend.identifier) (\(name))")
            let (_, view) = try set.mount(backend, spec: spec, in: runDirectory + "/\(name)-\(backend.identifier)-\(index)",
                                          options: plan.mountOptions, probe: Self.name, mounts: &mounts)
            log.verbose("mounted \(backend.identifier) by \(view.mountMethod)")
        }
        try body(set.views)
        try set.recordFootprints(probe: Self.name, book: book) { view in
            ["depth": .int(Int64(spec.layerCount)), "stack": .string(name), "mountOptions": .string(options(of: view)),
             "fs": .string(plan.fs), "mountMethod": .string(view.mountMethod)]
        }
    }

    struct FitKey: Hashable {
        var backend: String
        var mountOptions: String
        var cache: CacheState
        var position: Position
    }

    private func baseParameters(_ view: any MergedView, depth: Int) -> [String: ParameterValue] {
        ["depth": .int(Int64(depth)), "mountMethod": .string(view.mountMethod), "mountOptions": .string(options(of: view))]
    }

    private func statKey(_ view: any MergedView, position: Position, depth: Int) -> SampleBook.Key {
        var parameters = baseParameters(view, depth: depth)
        parameters["position"] = .string(position.rawValue)
        if position == .deep { parameters["deepLevels"] = .int(Int64(configuration.deepLevels)) }
        return SampleBook.Key(probe: Self.name, backend: view.backend, metric: "stat", unit: "ns", parameters: parameters)
    }

    /// One `statx` of the name at `position`.
    private func statTrial(_ stack: LayerStack, _ view: any MergedView, position: Position, depth: Int) throws -> Trial {
        Self.statTrial(key: statKey(view, position: position, depth: depth), path: Self.path(position, deepLevels: configuration.deepLevels),
                       expectFound: position != .negative && position != .whiteout, view: view, quiescer: try sampler.quiescer(stack, view))
    }

    /// One `statx(2)` of `path` relative to the merged root (the reference's own lookup), alone
    /// between the clock reads; its outcome (found, or `ENOENT` where `expectFound` is false)
    /// is checked after. Cold samples also record `readBytes`.
    static func statTrial(key: SampleBook.Key, path: String, expectFound: Bool, view: any MergedView, quiescer: Quiescer) -> Trial {
        let calls = ViewCalls(view)
        return Trial(
            key: key, writes: false, quiescer: quiescer, view: view, countsReads: true,
            warm: { _ = calls.statxOnly(path) },
            operation: { watch in watch.outcome = Int64(calls.statxOnly(path)?.rawValue ?? 0) },
            verify: { watch in
                try verify(watch.outcome == 0 ? nil : Errno(rawValue: CInt(watch.outcome)), expectFound: expectFound, path: path, view: view)
                return []
            })
    }

    /// This depth's `stat` samples (of this repeat) for the fits, and the fuse note on cold ones.
    private func collect(_ views: Views, depth: Int, cache: CacheState, book: SampleBook, into fits: inout [FitKey: (x: [Double], y: [Double])]) {
        for (_, view) in views {
            for position in Position.allCases {
                let key = sampler.complete(statKey(view, position: position, depth: depth), cache, false)
                let values = book.values(for: key, repeat: book.currentRepeat)
                let fit = FitKey(backend: view.backend, mountOptions: options(of: view), cache: cache, position: position)
                fits[fit, default: ([], [])].x += values.map { _ in Double(depth) }
                fits[fit, default: ([], [])].y += values
                if cache == .cold && view.capabilities.keepsOwnNodeCache && !values.isEmpty { book.warn(Self.ownNodeCacheNote(view.backend), for: key) }
            }
        }
    }

    private static func verify(_ failure: Errno?, expectFound: Bool, path: String, view: any MergedView) throws {
        switch (failure, expectFound) {
        case (nil, true), (.noSuchFileOrDirectory?, false): return
        case (nil, false):
            throw ProbeError.verificationFailed("\(view.backend): \(path) is visible, but it is hidden or absent in every layer")
        case (let errno?, _):
            throw ProbeError.verificationFailed("\(view.backend): statx \(path): \(errno) (\(errno.name))")
        }
    }

    /// Open, count and close a merged directory of `width` entries in each of `depth` layers:
    /// one trial, or none and `skipped` recorded for a view without a merged directory.
    private func readdirTrials(
        _ stack: LayerStack, _ view: any MergedView, path: String, width: Int, depth: Int, sweep: String,
        cache: CacheState, book: SampleBook
    ) throws -> [Trial] {
        let expected = width * depth
        var parameters = baseParameters(view, depth: depth)
        parameters["width"] = .int(Int64(width))
        parameters["sweep"] = .string(sweep)
        let key = SampleBook.Key(probe: Self.name, backend: view.backend, metric: "readdir", unit: "ns", parameters: parameters)
        guard view.capabilities.mergedDirectory else {
            book.skip(sampler.complete(key, cache, false), reason: Self.noMergedDirectoryReason)
            return []
        }
        return [Trial(
            key: key,
            writes: false, quiescer: try sampler.quiescer(stack, view), view: view,
            warm: { _ = try Self.countEntries(view, path) },
            operation: { watch in watch.outcome = Int64(try Self.countEntries(view, path)) },
            verify: { watch in
                guard watch.outcome == Int64(expected) else {
                    throw ProbeError.verificationFailed("\(view.backend): \(path) lists \(watch.outcome) entries, expected \(width) × \(depth) layers = \(expected)")
                }
                return []
            })]
    }

    /// `open(O_DIRECTORY)`, count with `readdir(3)`, `close`: what one sample times.
    private static func countEntries(_ view: any MergedView, _ path: String) throws -> Int {
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
    func options(of view: any MergedView) -> String {
        (view.requestedOptions ?? plan.mountOptions).description
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
            for cache in plan.caches {
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
                        "mountOptions": .string(mountOptions),
                    ]
                    parameters = sampler.complete(parameters, cache, false)
                    book.record(fit.slope, for: .init(probe: Self.name, backend: backend, metric: "statSlope",
                                                      unit: "ns/layer", parameters: parameters))
                }
            }
        }
    }
}

extension LookupProbe: SamplingProbe {
    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.init(configuration: configuration, sampler: Sampler(plan: configuration.sampling, backends: backends, log: log))
    }
}
