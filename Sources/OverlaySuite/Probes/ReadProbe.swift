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
/// Views are interleaved sample by sample.
public struct ReadProbe {
    public struct Configuration: Sendable {
        public var size: Int64 = 64 << 20
        public var depth: Int = 4
        public var samples: Int = 10
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var randomReads: Int = 256
        public var mountOptions: OverlayMountOptions = .defaults
        public var seed: UInt64 = 1
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
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
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.backends = backends
        self.log = log
    }

    /// The places a backend is measured in.
    static func places(for backend: any OverlayBackend) -> [Place] {
        backend.identifier == "plain" ? [.plain] : [.lower, .upper]
    }

    func stackSpec() -> LayerStackSpec {
        LayerStackSpec(layerCount: configuration.depth, seed: configuration.seed,
                       files: [FileSpec(path: Self.fileName, size: configuration.size, layer: configuration.depth - 1)])
    }

    /// Bytes of disk the run needs: each stack, plus its copy-up or flattened copy.
    public func estimatedBytes() -> Int64 {
        let views = backends.reduce(0) { $0 + Self.places(for: $1).count }
        return LayerStackBuilder(spec: stackSpec()).estimatedBytes * Int64(views)
    }

    struct PlacedView {
        var place: Place
        var stack: LayerStack
        var view: any MergedView
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        guard configuration.size >= Int64(Self.blockSize) else {
            throw ProbeError.invalidArgument("size", "must be at least \(Self.blockSize) bytes")
        }
        let set = MergedViewSet(log: log)
        defer { set.unmountAll() }
        var views: [PlacedView] = []
        for (index, backend) in backends.enumerated() {
            for place in Self.places(for: backend) {
                try SignalTrap.check()
                let directory = runDirectory + "/read-\(place.rawValue)-\(backend.identifier)-\(index)"
                log.info("generating \(ByteCount.format(configuration.size)) in layer \(configuration.depth - 1) of \(configuration.depth) for \(backend.identifier) (\(place.rawValue))")
                let (stack, view) = try set.mount(backend, spec: stackSpec(), in: directory, options: configuration.mountOptions,
                                                  probe: Self.name, mounts: &mounts)
                views.append(PlacedView(place: place, stack: stack, view: view))
                if place == .upper { try copyUp(stack: stack, view: view) }
                try verifyContent(stack: stack, view: view)
            }
        }
        for cache in configuration.caches { try measure(views, cache: cache, book: book) }
        for entry in views {
            let parameters: [String: ParameterValue] = [
                "place": .string(entry.place.rawValue), "size": .int(configuration.size), "depth": .int(Int64(configuration.depth)),
                "mountOptions": .string((entry.view.requestedOptions ?? configuration.mountOptions).description),
                "fs": .string(configuration.fs),
            ]
            try Footprint.record(probe: Self.name, view: entry.view, workPath: entry.stack.workPath, parameters: parameters, book: book)
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

    private func key(_ entry: PlacedView, _ metric: String, unit: String, cache: CacheState) -> SampleBook.Key {
        var parameters: [String: ParameterValue] = [
            "place": .string(entry.place.rawValue), "cache": .string(cache.rawValue),
            "size": .int(configuration.size), "depth": .int(Int64(configuration.depth)),
            "mountMethod": .string(entry.view.mountMethod),
            "mountOptions": .string((entry.view.requestedOptions ?? configuration.mountOptions).description),
            "fs": .string(configuration.fs),
        ]
        if cache == .cold { parameters["coldMethod"] = .string(LookupProbe.coldMethod) }
        if metric.hasPrefix("randomRead") { parameters["blockSize"] = .int(Int64(Self.blockSize)) }
        if metric == "sequentialRead" { parameters["bufferSize"] = .int(Int64(Self.sequentialBuffer)) }
        return SampleBook.Key(probe: Self.name, backend: entry.view.backend, metric: metric, unit: unit, parameters: parameters)
    }

    private func measure(_ views: [PlacedView], cache: CacheState, book: SampleBook) throws {
        let total = configuration.samples + configuration.warmup
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.sequentialBuffer, alignment: 4096)
        defer { buffer.deallocate() }
        let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.blockSize])
        var histograms = Array(repeating: LatencyHistogram(), count: views.count)
        var random = SplitMix64(seed: configuration.seed ^ 0x5eed_0f_4ead)
        let blocks = UInt64(configuration.size / Int64(Self.blockSize))
        for i in 0..<total {
            let recording = i >= configuration.warmup
            let offsets = (0..<configuration.randomReads).map { _ in Int64(random.next() % blocks) * Int64(Self.blockSize) }
            for (index, entry) in views.enumerated() {
                let view = entry.view
                try SignalTrap.check()

                // open alone
                try prepare(cache, view, buffer)
                var start = MonotonicClock.now()
                var fd = try view.open(Self.fileName, .readOnly, mode: 0)
                var elapsed = MonotonicClock.now() - start
                try fd.closeChecked(path: Self.fileName)
                if recording { book.record(Double(elapsed), for: key(entry, "open", unit: "ns", cache: cache)) }

                // open, first 4 KiB, close
                try prepare(cache, view, buffer)
                start = MonotonicClock.now()
                fd = try view.open(Self.fileName, .readOnly, mode: 0)
                _ = try fd.pread(into: block, at: 0)
                try fd.closeChecked(path: Self.fileName)
                elapsed = MonotonicClock.now() - start
                if recording { book.record(Double(elapsed), for: key(entry, "firstByte", unit: "ns", cache: cache)) }

                // random 4 KiB preads
                try prepare(cache, view, buffer)
                fd = try view.open(Self.fileName, .readOnly, mode: 0)
                try? fd.advise(.random)
                var latencies: [UInt64] = []
                latencies.reserveCapacity(offsets.count)
                do {
                    for offset in offsets {
                        let begin = MonotonicClock.now()
                        let n = try fd.pread(into: block, at: offset)
                        latencies.append(MonotonicClock.now() - begin)
                        if n != Self.blockSize { throw ProbeError.verificationFailed("\(view.backend): short read of \(n) bytes at \(offset)") }
                    }
                } catch {
                    fd.closeIgnoringErrors()
                    throw error
                }
                try fd.closeChecked(path: Self.fileName)
                if recording {
                    let randomKey = key(entry, "randomRead", unit: "ns", cache: cache)
                    for latency in latencies {
                        book.record(Double(latency), for: randomKey)
                        histograms[index].record(latency)
                    }
                }

                // sequential throughput
                try prepare(cache, view, buffer)
                fd = try view.open(Self.fileName, .readOnly, mode: 0)
                var bytesRead: Int64 = 0
                start = MonotonicClock.now()
                do {
                    while case let n = try fd.pread(into: buffer, at: bytesRead), n > 0 { bytesRead += Int64(n) }
                } catch {
                    fd.closeIgnoringErrors()
                    throw error
                }
                elapsed = MonotonicClock.now() - start
                try fd.closeChecked(path: Self.fileName)
                guard bytesRead == configuration.size else {
                    throw ProbeError.verificationFailed("\(view.backend): read \(bytesRead) bytes of \(configuration.size)")
                }
                if recording {
                    book.record(Double(bytesRead) / Double(max(elapsed, 1)),
                                for: key(entry, "sequentialRead", unit: "GB/s", cache: cache))
                }
            }
            log.progress("read \(cache.rawValue)", done: i + 1, of: total)
        }
        for (index, entry) in views.enumerated() where histograms[index].count > 0 {
            var histogramKey = key(entry, "randomReadPercentiles", unit: "ns", cache: cache)
            histogramKey.parameters["percentiles"] = .string(LatencyHistogram.standardPercentiles.map { "\($0)" }.joined(separator: ","))
            histogramKey.parameters["operations"] = .int(Int64(histograms[index].count))
            for point in histograms[index].percentiles { book.record(point.value, for: histogramKey) }
        }
    }

    /// Warm: read the whole file through the view. Cold: drop caches (twice).
    private func prepare(_ cache: CacheState, _ view: any MergedView, _ buffer: UnsafeMutableRawBufferPointer) throws {
        switch cache {
        case .cold:
            try PageCache.drop()
        case .warm:
            let fd = try view.open(Self.fileName, .readOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
        }
    }
}
