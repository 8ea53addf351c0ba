import OverlayCore
import OverlaySystem

/// Lookups of an imported image's own names: per layer, top to bottom, a file whose topmost
/// copy is in that layer; the directory that merges deepest, and a name it does not hold (a
/// miss, which goes through every layer the directory is in); a whited-out name per layer that
/// hides one (``ImageWorkload/lookupNames(seed:)``, seeded by the plan's `seed`).
///
/// Each sample is the synthetic probe's (``LookupProbe/statTrial(key:path:expectFound:view:quiescer:)``):
/// one `statx(2)` relative to the merged root (the reference backend's own lookup), metric `stat`
/// (ns) with `position` (hit, miss, whiteout, directory), `layer` (top first, where the lookup
/// ends) and `path`; cold samples also record `readBytes`. Every name on every backend is one
/// trial of each round, in the sampler's shuffled order; a lookup whose outcome is wrong (a
/// hidden name found, a file not found) fails the run.
public struct ImageLookupProbe {
    public typealias Configuration = ImageProbeConfiguration

    public static let name = "lookup"

    public let configuration: Configuration
    public let workload: ImageWorkload
    let sampler: Sampler

    public init(configuration: Configuration, workload: ImageWorkload, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.workload = workload
        sampler = Sampler(plan: configuration.sampling, backends: backends, log: log)
    }

    /// Lookups write nothing; the plain backend copies the image once.
    public func estimatedBytes() -> Int64 {
        (sampler.backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0) + Int64(sampler.backends.count) << 20
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        let names = workload.lookupNames(seed: plan.seed)
        log.info("looking up \(names.count) of the image's names: \(names.map { "\($0.kind.rawValue)@\($0.layer)" }.joined(separator: " "))")
        let set = MergedViewSet(log: log)
        defer { set.unmountAll() }
        for (index, backend) in sampler.backends.enumerated() {
            try set.mount(backend, workload, in: runDirectory + "/lookup-image-\(backend.identifier)-\(index)",
                          options: plan.mountOptions, probe: Self.name, mounts: &mounts)
        }
        for cache in plan.caches {
            try sampler.run("lookup image", cache: cache, book: book) { _ in
                try set.views.flatMap { _, view in
                    let quiescer = try sampler.quiescer(for: workload.quiescePaths(view))
                    return names.map { name in
                        LookupProbe.statTrial(key: key(view, name), path: name.path, expectFound: name.found, view: view, quiescer: quiescer)
                    }
                }
            }
            guard cache == .cold else { continue }
            for (_, view) in set.views where view.capabilities.keepsOwnNodeCache {
                for name in names { book.warn(LookupProbe.ownNodeCacheNote(view.backend), for: sampler.complete(key(view, name), cache, false)) }
            }
        }
    }

    func key(_ view: any MergedView, _ name: ImageWorkload.LookupName) -> SampleBook.Key {
        var parameters = workload.parameters(view, options: plan.mountOptions)
        parameters["position"] = .string(name.kind.rawValue)
        parameters["layer"] = .int(Int64(name.layer))
        parameters["path"] = .string(name.path)
        parameters["mountMethod"] = .string(view.mountMethod)
        return SampleBook.Key(probe: Self.name, backend: view.backend, metric: "stat", unit: "ns", parameters: parameters)
    }
}

extension ImageLookupProbe: Probe, SamplingProbe {}
