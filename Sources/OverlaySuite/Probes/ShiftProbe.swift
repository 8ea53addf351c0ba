import OverlayCore
import OverlaySystem

/// What it costs to present an image under a shifted uid/gid range, as a user-namespaced
/// container sees it: every owner `id` of the image shows as `id + shift`.
///
/// Each sample starts a new container from the same generated image (`files` files of
/// `fileSize` bytes, `filesPerDirectory` to a directory, spread over `layers` lower layers) and
/// times it to ready (`ready`): the mount, then the shift, recorded apart as `mount` and
/// `shift`. The methods, as `parameters.method`:
/// - `chown`: `chown -R` through the merged view with the default options, which copies every
///   file up whole (the plain backend chowns its flattened copy, btrfs its snapshot);
/// - `chown-metacopy`: the same through a `metacopy=on` overlay, which copies up inodes only;
/// - `idmapped-layers`: every lower layer mounted idmapped (`mount_setattr(2)`), nothing shifted
///   by hand; a first write copies up with the shifted owner;
/// - `uidmapping`: fuse-overlayfs mapping owners itself (`uidmapping=`, `gidmapping=`).
/// A method the backend's capabilities lack is recorded `skipped` with the reason. After the
/// clock, every name in the view is checked to show its lower owner shifted, and the container's
/// upper layer is recorded (`upperBytes`, `upperInodes`). Then `firstWrite` times a 1-byte write
/// to one file (where the whole file copies up unless `chown` already did), and checks the owner
/// on disk: shifted in upper for the kernel's methods, unshifted for fuse-overlayfs, which maps
/// on the way out. Each container is unmounted and removed after its sample.
public struct ShiftProbe: SamplingProbe {
    /// A way to present the image's owners shifted, by its `parameters.method` name.
    public enum Method: String, CaseIterable, Sendable {
        case chown
        case chownMetacopy = "chown-metacopy"
        case idmappedLayers = "idmapped-layers"
        case uidmapping

        /// A comma-separated list (`--methods`), in order, each once; throws for an unknown or empty one.
        public static func parseList(_ text: String) throws(ProbeError) -> [Method] {
            var result: [Method] = []
            for item in text.split(separator: ",") {
                guard let method = Method(rawValue: String(item)) else {
                    throw .invalidArgument("methods", "\"\(item)\" is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !result.contains(method) { result.append(method) }
            }
            guard !result.isEmpty else { throw .invalidArgument("methods", "is empty") }
            return result
        }

        /// Why `capabilities` cannot run this method, or nil when they can.
        func unsupported(by capabilities: BackendCapabilities) -> String? {
            if !capabilities.mergedDirectory { return "no merged directory to walk" }
            if capabilities.mountBuildsLayers {
                return "its mount builds the image's layers, which a runtime does once per image, so a per-container time-to-ready would include pull-time work"
            }
            switch self {
            case .chown: return nil
            case .chownMetacopy:
                return capabilities.metacopy && capabilities.takesMountOptions ? nil : "it has no metacopy=on"
            case .idmappedLayers:
                return capabilities.ownerShift == .idmappedLayers ? nil : "it takes no idmapped layers"
            case .uidmapping:
                return capabilities.ownerShift == .daemonMapping ? nil : "it has no uid mapping of its own"
            }
        }

        /// Whether the method shifts by walking the view (`chown -R`) rather than by mounting.
        var walks: Bool { self == .chown || self == .chownMetacopy }
    }

    /// What `run shift` samples: the image's shape, the methods and the mapping.
    public struct Configuration: Sendable {
        public var sampling = SamplingPlan()
        public var methods: [Method] = Method.allCases
        /// Files in the image, each `fileSize` bytes, `filesPerDirectory` to a directory
        /// (`d<i/100>/f<i>`), file `i` in lower layer `i % layers`.
        public var files: Int = 10_000
        public var fileSize: Int64 = 4096
        public var filesPerDirectory: Int = 100
        public var layers: Int = 4
        /// The mapping every method presents: `0:shift:range`.
        public var mapping = IDMapping(inside: 0, outside: 100_000, count: 65_536)
        public init() {}
    }

    public static let name = "shift"

    public let configuration: Configuration
    let sampler: Sampler

    /// A probe of `configuration` on `backends` (base backends: the methods choose the options).
    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog = ProgressLog()) {
        self.configuration = configuration
        self.sampler = Sampler(plan: configuration.sampling, backends: backends, log: log)
    }

    static func path(_ index: Int, perDirectory: Int) -> String { "d\(index / perDirectory)/f\(index)" }

    func stackSpec() -> LayerStackSpec {
        let files = (0..<configuration.files).map { index in
            FileSpec(path: Self.path(index, perDirectory: configuration.filesPerDirectory), size: configuration.fileSize,
                     layer: index % configuration.layers)
        }
        return LayerStackSpec(layerCount: configuration.layers, seed: plan.seed, files: files)
    }

    /// The image once per backend, and one container's copy-up of it per method at a time.
    public func estimatedBytes() -> Int64 {
        LayerStackBuilder(spec: stackSpec()).estimatedBytes * 3 * Int64(sampler.backends.count)
    }

    // MARK: - Running

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        let spec = stackSpec()
        for cache in plan.caches {
            try SignalTrap.check()
            var images: [(backend: any OverlayBackend, stack: LayerStack)] = []
            for (index, backend) in sampler.backends.enumerated() {
                let directory = "\(runDirectory)/shift-\(cache.rawValue)-\(backend.identifier)-\(index)"
                try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
                log.info("generating \(configuration.files) files in \(configuration.layers) layers for \(backend.identifier)")
                images.append((backend, try LayerStackBuilder(spec: spec).build(in: directory)))
            }
            let made = MadeMounts()
            try sampler.run("shift", cache: cache, book: book) { round in
                var trials: [Trial] = []
                for (backend, stack) in images {
                    for method in configuration.methods {
                        if let why = method.unsupported(by: backend.capabilities) {
                            if round == 0 {
                                for metric in ["ready", "firstWrite"] {
                                    book.skip(sampler.complete(Sample.key(Self.name, backend.identifier, metric, parameters(method, backend.capabilities)), cache, true),
                                              reason: "\(backend.identifier) cannot \(method.rawValue): \(why)")
                                }
                            }
                            continue
                        }
                        let sample = Sample(probe: self, method: method, backend: try variant(backend, method),
                                            image: stack, index: round)
                        trials.append(try sample.trial { view in
                            // Each distinct way of mounting once in the result's environment.
                            guard made.identities.insert("\(backend.identifier) \(method.rawValue)").inserted else { return }
                            made.records.append(.init(backend: backend.identifier, probe: Self.name,
                                                requestedOptions: options(method, backend.capabilities).description,
                                                effectiveOptions: view.effectiveOptions, method: view.mountMethod,
                                                layers: stack.lowerLayers.count, setup: view.setupFacts))
                        })
                    }
                }
                return trials
            }
            mounts += made.records
            for (_, stack) in images { try? TreeRemover.remove(stack.root) }
        }
    }

    /// The ways of mounting a run made, for the result's environment: each once.
    private final class MadeMounts {
        var identities = Set<String>()
        var records: [RunEnvironment.MountRecord] = []
    }

    /// The backend a method mounts with: the one given, or it shifting owners itself.
    private func variant(_ backend: any OverlayBackend, _ method: Method) throws -> any OverlayBackend {
        switch method {
        case .chown, .chownMetacopy: return backend
        case .idmappedLayers, .uidmapping:
            guard let shifted = backend.shiftingOwners(configuration.mapping) else {
                throw ProbeError.unsupported("\(backend.identifier) cannot shift owners by \(method.rawValue)")
            }
            return shifted
        }
    }

    /// The overlay options a method mounts with on a backend with `capabilities`: the plan's,
    /// plus `metacopy=on` for `chown-metacopy`; none for a backend that takes no overlay options.
    func options(_ method: Method, _ capabilities: BackendCapabilities) -> OverlayMountOptions {
        guard capabilities.takesMountOptions else { return .defaults }
        guard method == .chownMetacopy, !plan.mountOptions.metacopy else { return plan.mountOptions }
        let text = plan.mountOptions.description.isEmpty ? "metacopy=on" : plan.mountOptions.description + ",metacopy=on"
        return (try? OverlayMountOptions(parsing: text)) ?? plan.mountOptions
    }

    func parameters(_ method: Method, _ capabilities: BackendCapabilities) -> [String: ParameterValue] {
        [
            "method": .string(method.rawValue), "files": .int(Int64(configuration.files)),
            "fileSize": .int(configuration.fileSize), "layers": .int(Int64(configuration.layers)),
            "idMapping": .string(configuration.mapping.description), "mountOptions": .string(options(method, capabilities).description),
        ]
    }
}
