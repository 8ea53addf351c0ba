import OverlayCore
import OverlayStatistics
import OverlaySystem

/// Read cost of one file by where it lives: in the bottom lower layer of a `depth`-layer stack
/// (`place=lower`), in the upper layer after a copy-up (`place=upper`: a second stack whose file
/// was opened `O_WRONLY` and closed through the mount first), or in a flattened plain directory
/// (`place=plain`, the `plain` backend). Overlay backends get `lower` and `upper`; `plain` gets `plain`.
///
/// Metrics, each warm (the file read through just before) or cold (caches dropped twice):
/// - `open` (ns): `open(O_RDONLY)` alone;
/// - `firstByte` (ns): `open`, `pread` of 4 KiB at 0, `close`;
/// - `randomRead` (ns): each 4 KiB `pread` at seeded 4 KiB-aligned offsets (`randomReads` per
///   sample, after `POSIX_FADV_RANDOM`), every one a raw sample;
/// - `randomReadPercentiles` (ns): the same reads as a ``LatencyHistogram``: its samples are the
///   values at the percentiles listed in the `percentiles` parameter, not repetitions;
/// - `sequentialRead` (GB/s): the whole file with 1 MiB `pread`s (the open is not timed).
/// The plain file is the control of the overlay places: the same bytes with no overlay, sampled in
/// the same rounds; its measurements carry `role=control`, the others `control=place=plain`.
/// Every round's trials (each metric in each place) are shuffled.
public struct ReadProbe {
    public struct Configuration: Sendable {
        public var sampling = SamplingPlan()
        public var size: Int64 = 64 << 20
        public var depth: Int = 4
        public var randomReads: Int = 256
        public init() {}
    }

    public enum Place: String, CaseIterable, Sendable {
        case lower, upper, plain
    }

    public static let name = "read"
    static let fileName = "data"
    static let blockSize = 4096
    static let sequentialBuffer = 1 << 20

    public let configuration: Configuration
    let sampler: Sampler

    /// The places a backend is measured in: lower and upper for layered backends, the flattened
    /// copy for the others.
    static func places(for backend: any OverlayBackend) -> [Place] {
        backend.capabilities.layered ? [.lower, .upper] : [.plain]
    }

    func stackSpec() -> LayerStackSpec {
        LayerStackSpec(layerCount: configuration.depth, seed: plan.seed,
                       files: [FileSpec(path: Self.fileName, size: configuration.size, layer: configuration.depth - 1)])
    }

    /// Bytes of disk the run needs: each stack, plus its copy-up or flattened copy.
    public func estimatedBytes() -> Int64 {
        let views = sampler.backends.reduce(0) { $0 + Self.places(for: $1).count }
        return LayerStackBuilder(spec: stackSpec()).estimatedBytes * Int64(views)
    }

    struct PlacedView {
        var place: Place
        var stack: LayerStack
        var view: any MergedView
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        guard configuration.size >= Int64(Self.blockSize) else {
            throw ProbeError.invalidArgument("size", "must be at least \(Self.blockSize) bytes")
        }
        let set = MergedViewSet(log: log)
        defer { set.unmountAll() }
        var views: [PlacedView] = []
        for (index, backend) in sampler.backends.enumerated() {
            for place in Self.places(for: backend) {
                try SignalTrap.check()
                let directory = runDirectory + "/read-\(place.rawValue)-\(backend.identifier)-\(index)"
                log.info("generating \(ByteCount.format(configuration.size)) in layer \(configuration.depth - 1) of \(configuration.depth) for \(backend.identifier) (\(place.rawValue))")
                let (stack, view) = try set.mount(backend, spec: stackSpec(), in: directory, options: plan.mountOptions,
                                                  probe: Self.name, mounts: &mounts)
                views.append(PlacedView(place: place, stack: stack, view: view))
                if place == .upper { try copyUp(stack: stack, view: view) }
                try verifyContent(stack: stack, view: view)
            }
        }
        for cache in plan.caches { try measure(views, cache: cache, book: book) }
        try set.recordFootprints(probe: Self.name, book: book) { view in
            let place = views.first { $0.view === view }?.place ?? .lower
            return ["place": .string(place.rawValue), "size": .int(configuration.size), "depth": .int(Int64(configuration.depth)),
                    "mountOptions": .string((view.requestedOptions ?? plan.mountOptions).description), "fs": .string(plan.fs)]
        }
    }

    /// Copies the file up with `open(O_WRONLY)` and `close`, and checks that upper holds all of it.
    private func copyUp(stack: LayerStack, view: any MergedView) throws {
        let fd = try view.open(Self.fileName, .writeOnly, mode: 0)
        try fd.closeChecked(path: Self.fileName)
        let upper = try FileDescriptor.currentWorkingDirectory.status(of: view.upperPath + "/" + Self.fileName)
        guard upper.type == .regular, upper.size == configuration.size else {
            throw ProbeError.verificationFailed("\(view.backend): \(Self.fileName) was not copied up in full to \(view.upperPath) (size \(upper.size))")
        }
        PageCache.sync()
    }

    /// The first and last blocks read through the view must be the generated bytes.
    private func verifyContent(stack: LayerStack, view: any MergedView) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        let fd = try view.open(Self.fileName, .readOnly, mode: 0)
        defer { fd.closeIgnoringErrors() }
        for offset in [0, configuration.size - Int64(Self.blockSize)] {
            let n = try fd.preadFully(into: buffer, at: offset)
            if n != Self.blockSize || stack.pattern(for: Self.fileName).firstMismatch(in: UnsafeRawBufferPointer(buffer), at: offset) != nil {
                throw ProbeError.verificationFailed("\(view.backend): \(Self.fileName) at \(offset) does not hold the generated bytes")
            }
        }
    }

    private func key(_ entry: PlacedView, _ metric: String, unit: String) -> SampleBook.Key {
        var parameters: [String: ParameterValue] = [
            "place": .string(entry.place.rawValue),
            "size": .int(configuration.size), "depth": .int(Int64(configuration.depth)),
            "mountMethod": .string(entry.view.mountMethod),
            "mountOptions": .string((entry.view.requestedOptions ?? plan.mountOptions).description),
        ]
        if entry.place == .plain { parameters["role"] = "control" } else { parameters["control"] = "place=plain" }
        if metric.hasPrefix("randomRead") { parameters["blockSize"] = .int(Int64(Self.blockSize)) }
        if metric == "sequentialRead" { parameters["bufferSize"] = .int(Int64(Self.sequentialBuffer)) }
        return SampleBook.Key(probe: Self.name, backend: entry.view.backend, metric: metric, unit: unit, parameters: parameters)
    }

    /// Every round: four trials per place (open; open, 4 KiB, close; random 4 KiB reads;
    /// the whole file sequentially), shuffled.
    private func measure(_ views: [PlacedView], cache: CacheState, book: SampleBook) throws {
        let buffers = Buffers()
        var histograms = Array(repeating: LatencyHistogram(), count: views.count)
        var random = SplitMix64(seed: plan.seed ^ 0x5eed_0f_4ead)
        let blocks = UInt64(configuration.size / Int64(Self.blockSize))
        try sampler.run("read", cache: cache, book: book) { round in
            let offsets = (0..<configuration.randomReads).map { _ in Int64(random.next() % blocks) * Int64(Self.blockSize) }
            return try views.enumerated().flatMap { index, entry -> [Trial] in
                let target = Target(view: entry.view, path: Self.fileName, size: configuration.size,
                                    quiescer: try sampler.quiescer(entry.stack, entry.view), buffers: buffers)
                return [
                    Self.openTrial(target, key: key(entry, "open", unit: "ns")),
                    Self.firstByteTrial(target, key: key(entry, "firstByte", unit: "ns")),
                    Self.randomReadTrial(target, offsets: offsets, key: key(entry, "randomRead", unit: "ns")) { latencies in
                        if round >= plan.warmup { for latency in latencies { histograms[index].record(latency) } }
                    },
                    Self.sequentialReadTrial(target, key: key(entry, "sequentialRead", unit: "GB/s")),
                ]
            }
        }
        for (index, entry) in views.enumerated() where histograms[index].count > 0 {
            var histogramKey = sampler.complete(key(entry, "randomReadPercentiles", unit: "ns"), cache, false)
            histogramKey.parameters["percentiles"] = .string(LatencyHistogram.standardPercentiles.map { "\($0)" }.joined(separator: ","))
            histogramKey.parameters["operations"] = .int(Int64(histograms[index].count))
            for point in histograms[index].percentiles { book.record(point.value, for: histogramKey) }
        }
    }
}

extension ReadProbe: SamplingProbe {
    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.init(configuration: configuration, sampler: Sampler(plan: configuration.sampling, backends: backends, log: log))
    }
}
