import OverlayCore
import OverlaySystem

/// First-write copy-up cost against file size.
///
/// For each size it places fresh lower-only files, mounts, and times per file:
/// - `firstWrite`: `open(O_WRONLY)`, `pwrite` of 1 byte at offset 0, `close` on the lower-only
///   file: the copy-up happens here;
/// - `secondWrite`: the same on the now-upper file;
/// - `open`: `open(O_WRONLY)` alone on another fresh lower file, in a separate pass: overlay
///   copies up at open time, so this is the copy-up without the write.
/// Only those syscalls sit between the two clock reads. Every sample is verified afterwards:
/// the upper layer must hold a full-size copy whose bytes match the lower file except the one
/// written; a sample that did not copy up is an error, never a data point.
public struct CopyUpProbe {
    public struct Configuration: Sendable {
        public var sizes: [Int64] = CopyUpProbe.defaultSizes
        public var samples: Int = 10
        /// Extra files per size taken first and discarded.
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var layers: Int = 1
        public var seed: UInt64 = 1
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let defaultSizes: [Int64] = [0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20, 256 << 20]
    public static let name = "copyup"

    public let configuration: Configuration
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.backends = backends
        self.log = log
    }

    /// The stack one backend and cache state need: `w<i>` files for the write pass, `o<i>` for
    /// the open pass, in the top lower layer.
    func stackSpec() -> LayerStackSpec {
        var files: [FileSpec] = []
        let count = configuration.samples + configuration.warmup
        for size in configuration.sizes {
            for i in 0..<count {
                files.append(FileSpec(path: Self.path(size: size, pass: "w", index: i), size: size, layer: 0))
                files.append(FileSpec(path: Self.path(size: size, pass: "o", index: i), size: size, layer: 0))
            }
        }
        return LayerStackSpec(layerCount: configuration.layers, seed: configuration.seed, files: files)
    }

    static func path(size: Int64, pass: String, index: Int) -> String { "copyup/\(size)/\(pass)\(index)" }

    /// Bytes of disk the whole run needs, for the check before generating.
    public func estimatedBytes() -> Int64 {
        LayerStackBuilder(spec: stackSpec()).estimatedBytes * Int64(backends.count * configuration.caches.count)
    }

    /// Runs every backend and cache state, interleaving backends sample by sample.
    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        for cache in configuration.caches {
            try SignalTrap.check()
            var views: [(backend: any OverlayBackend, stack: LayerStack, view: any MergedView)] = []
            defer {
                for entry in views.reversed() {
                    do { try entry.view.unmount() } catch { log.warning("unmount \(entry.stack.mergedPath): \(error)") }
                }
            }
            for (index, backend) in backends.enumerated() {
                let directory = runDirectory + "/copyup-\(cache.rawValue)-\(backend.identifier)-\(index)"
                try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
                log.info("generating \(configuration.sizes.count) sizes × \(configuration.samples + configuration.warmup) files × 2 passes for \(backend.identifier) (\(cache.rawValue))")
                let stack = try LayerStackBuilder(spec: stackSpec()).build(in: directory)
                let view = try backend.mount(stack, options: configuration.mountOptions)
                views.append((backend, stack, view))
                mounts.append(.init(backend: backend.identifier, probe: Self.name,
                                    requestedOptions: (view.requestedOptions ?? configuration.mountOptions).description,
                                    effectiveOptions: view.effectiveOptions, method: view.mountMethod,
                                    layers: stack.lowerLayers.count))
                log.info("mounted \(backend.identifier) by \(view.mountMethod): \(view.effectiveOptions)")
            }
            try measure(views: views.map { ($0.stack, $0.view) }, cache: cache, book: book)
        }
    }

    private func key(_ view: any MergedView, _ metric: String, size: Int64, cache: CacheState) -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: view.backend, metric: metric, unit: "ns", parameters: [
            "size": .int(size), "cache": .string(cache.rawValue),
            "mountOptions": .string((view.requestedOptions ?? configuration.mountOptions).description),
            "layers": .int(Int64(configuration.layers)), "fs": .string(configuration.fs), "trigger": "write",
        ])
    }

    private func measure(views: [(stack: LayerStack, view: any MergedView)], cache: CacheState, book: SampleBook) throws {
        let total = configuration.samples + configuration.warmup
        let verifier = CopyUpVerifier()
        for i in 0..<total {
            let recording = i >= configuration.warmup
            for size in configuration.sizes {
                for (stack, view) in views {
                    try SignalTrap.check()
                    let path = Self.path(size: size, pass: "w", index: i)
                    try prepare(cache: cache, stack: stack, path: path)
                    let first = try timedWrite(view, path)
                    try verifier.verifyCopiedUp(stack: stack, view: view, path: path, lowerSize: size, written: true)
                    let second = try timedWrite(view, path)
                    if recording {
                        book.record(Double(first), for: key(view, "firstWrite", size: size, cache: cache))
                        book.record(Double(second), for: key(view, "secondWrite", size: size, cache: cache))
                    }
                }
            }
            log.progress("copyup \(cache.rawValue) write pass", done: i + 1, of: total)
        }
        for i in 0..<total {
            let recording = i >= configuration.warmup
            for size in configuration.sizes {
                for (stack, view) in views {
                    try SignalTrap.check()
                    let path = Self.path(size: size, pass: "o", index: i)
                    try prepare(cache: cache, stack: stack, path: path)
                    let elapsed = try timedOpen(view, path)
                    try verifier.verifyCopiedUp(stack: stack, view: view, path: path, lowerSize: size, written: false)
                    if recording { book.record(Double(elapsed), for: key(view, "open", size: size, cache: cache)) }
                }
            }
            log.progress("copyup \(cache.rawValue) open pass", done: i + 1, of: total)
        }
    }

    /// Warm: read the lower file through so its pages are cached. Cold: drop caches.
    private func prepare(cache: CacheState, stack: LayerStack, path: String) throws {
        switch cache {
        case .warm:
            let fd = try FileDescriptor.open(stack.lowerLayers[0].diff + "/" + path, .readOnly)
            defer { fd.closeIgnoringErrors() }
            try? fd.advise(.sequential)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
        case .cold:
            try PageCache.drop()
        }
    }

    /// `open(O_WRONLY)`, `pwrite` 1 byte at 0, `close`: nothing else between the clock reads.
    private func timedWrite(_ view: any MergedView, _ path: String) throws -> UInt64 {
        var byte: UInt8 = CopyUpVerifier.writtenByte
        return try withUnsafeBytes(of: &byte) { one in
            let start = MonotonicClock.now()
            let fd = try view.open(path, .writeOnly, mode: 0)
            _ = try fd.pwrite(one, at: 0)
            try fd.closeChecked(path: path)
            return MonotonicClock.now() - start
        }
    }

    /// `open(O_WRONLY)` alone.
    private func timedOpen(_ view: any MergedView, _ path: String) throws -> UInt64 {
        let start = MonotonicClock.now()
        let fd = try view.open(path, .writeOnly, mode: 0)
        let elapsed = MonotonicClock.now() - start
        try fd.closeChecked(path: path)
        return elapsed
    }
}
