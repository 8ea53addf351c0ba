import OverlayCore
import OverlaySystem

/// Lookups of an imported image's own names: per layer, top to bottom, a file whose topmost
/// copy is in that layer; the directory that merges deepest, and a name it does not hold (a
/// miss, which goes through every layer the directory is in); a whited-out name per layer that
/// hides one (``ImageWorkload/lookupNames(seed:)``).
///
/// Each sample times one `statx(2)` relative to the merged root (the reference backend's own
/// lookup), metric `stat` (ns) with `position` (hit, miss, whiteout, directory), `layer` (top
/// first, where the lookup ends) and `path`. Backends are interleaved sample by sample; a lookup
/// whose outcome is wrong (a hidden name found, a file not found) fails the run.
public struct ImageLookupProbe {
    public struct Configuration: Sendable {
        public var samples: Int = 10
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var seed: UInt64 = 1
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let name = "lookup"

    public let configuration: Configuration
    public let workload: ImageWorkload
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, workload: ImageWorkload, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.workload = workload
        self.backends = backends
        self.log = log
    }

    /// Lookups write nothing; the plain backend copies the image once.
    public func estimatedBytes() -> Int64 {
        (backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0) + Int64(backends.count) << 20
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        let names = workload.lookupNames(seed: configuration.seed)
        log.info("looking up \(names.count) of the image's names: \(names.map { "\($0.kind.rawValue)@\($0.layer)" }.joined(separator: " "))")
        let set = ImageViewSet(log: log)
        defer { set.unmountAll() }
        for (index, backend) in backends.enumerated() {
            try set.mount(backend, workload, in: runDirectory + "/lookup-image-\(backend.identifier)-\(index)",
                          options: configuration.mountOptions, probe: Self.name, mounts: &mounts)
        }
        let total = configuration.samples + configuration.warmup
        for cache in configuration.caches {
            for i in 0..<total {
                for name in names {
                    for (_, view) in set.views {
                        try SignalTrap.check()
                        let calls = ViewCalls(view)
                        switch cache {
                        case .warm: _ = calls.statxOnly(name.path)
                        case .cold: try PageCache.drop()
                        }
                        let start = MonotonicClock.now()
                        let failure = calls.statxOnly(name.path)
                        let elapsed = MonotonicClock.now() - start
                        switch (failure, name.found) {
                        case (nil, true), (.noSuchFileOrDirectory?, false): break
                        case (nil, false):
                            throw ProbeError.verificationFailed("\(view.backend): \(name.path) is visible, but the image hides it (\(name.kind.rawValue))")
                        case (let errno?, _):
                            throw ProbeError.verificationFailed("\(view.backend): statx \(name.path): \(errno) (\(errno.name))")
                        }
                        guard i >= configuration.warmup else { continue }
                        var parameters = ImageViewSet.parameters(workload, view: view, options: configuration.mountOptions, fs: configuration.fs, cache: cache)
                        parameters["position"] = .string(name.kind.rawValue)
                        parameters["layer"] = .int(Int64(name.layer))
                        parameters["path"] = .string(name.path)
                        parameters["mountMethod"] = .string(view.mountMethod)
                        book.record(Double(elapsed), for: .init(probe: Self.name, backend: view.backend, metric: "stat", unit: "ns", parameters: parameters))
                    }
                }
                log.progress("lookup image \(cache.rawValue)", done: i + 1, of: total)
            }
        }
    }
}

extension ImageLookupProbe: Probe {}
