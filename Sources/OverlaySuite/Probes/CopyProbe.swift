import OverlayCore
import OverlaySystem

/// Copy engines against each other and against memcpy, the ceiling for a page-cache-to-page-cache
/// copy. Engines run interleaved (A B C A B C …) so that drift on a noisy machine hits them all
/// alike; only `CopyEngine.copy` sits between the clock reads; every copy is verified.
public struct CopyProbe {
    public struct Configuration: Sendable {
        public var engines: [String] = ["io_uring", "io_uring-splice", "copy_file_range", "sendfile", "read-write"]
        public var sizes: [Int64] = [4 << 10, 1 << 20, 64 << 20, 256 << 20]
        public var samples = 10
        public var warmup = 1
        public var caches: [CacheState] = [.warm]
        /// Sources with random holes; the copy must stay sparse.
        public var sparse = false
        public var fsync = false
        public var ioURing = IOURingCopyOptions()
        public var includeMemcpy = true
        public var seed: UInt64 = 1
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let name = "copy"
    public let configuration: Configuration
    public let log: ProgressLog

    public init(configuration: Configuration, log: ProgressLog) {
        self.configuration = configuration
        self.log = log
    }

    public func estimatedBytes() -> Int64 {
        configuration.sizes.reduce(0) { $0 + 2 * $1 } + (1 << 20)
    }

    private func key(engine: String, metric: String, unit: String, size: Int64, cache: CacheState) -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: "-", metric: metric, unit: unit, parameters: [
            "engine": .string(engine), "size": .int(size), "cache": .string(cache.rawValue),
            "fsync": .bool(configuration.fsync), "sparse": .bool(configuration.sparse), "fs": .string(configuration.fs),
        ])
    }

    public func run(in runDirectory: String, book: SampleBook) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        let directory = runDirectory + "/copy"
        try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
        var engines: [(id: String, engine: (any CopyEngine)?)] = []
        for id in configuration.engines {
            do {
                engines.append((id, try CopyEngineKind.make(identifier: id, options: configuration.ioURing)))
            } catch let error as CopyEngineError {
                if case .unknownEngine = error { throw ProbeError.invalidArgument("engines", "\(error)") }
                throw error
            }
        }
        log.info("writing \(configuration.sizes.count) source file(s)\(configuration.sparse ? " with holes" : "")")
        var sources: [Int64: String] = [:]
        for size in configuration.sizes {
            let path = directory + "/src-\(size)"
            try SourceFile.write(path: path, size: size, sparse: configuration.sparse, seed: configuration.seed)
            sources[size] = path
        }
        PageCache.sync()
        var memcpy = configuration.includeMemcpy ? MemcpyCeiling(maximumSize: configuration.sizes.max() ?? 0) : nil
        defer { memcpy?.release() }

        let total = configuration.samples + configuration.warmup
        for cache in configuration.caches {
            for i in 0..<total {
                let recording = i >= configuration.warmup
                for size in configuration.sizes {
                    for (id, engine) in engines {
                        try SignalTrap.check()
                        guard let engine else { continue }
                        let source = sources[size]!
                        do {
                            let (elapsed, result) = try timedCopy(engine, source: source, destination: directory + "/dst", size: size, cache: cache)
                            if recording {
                                book.record(Double(elapsed), for: key(engine: id, metric: "latency", unit: "ns", size: size, cache: cache))
                                book.record(elapsed == 0 ? 0 : Double(size) / Double(elapsed), for: key(engine: id, metric: "throughput", unit: "GB/s", size: size, cache: cache))
                                if result.method != id {
                                    book.warn("ran as \(result.method)", for: key(engine: id, metric: "latency", unit: "ns", size: size, cache: cache))
                                }
                            }
                        } catch let error as CopyEngineError {
                            guard case .unsupported(let reason) = error else { throw error }
                            for metric in [("latency", "ns"), ("throughput", "GB/s")] {
                                book.skip(key(engine: id, metric: metric.0, unit: metric.1, size: size, cache: cache), reason: reason)
                            }
                        }
                    }
                    if var ceiling = memcpy, size > 0 {
                        let elapsed = ceiling.time(size: Int(size))
                        memcpy = ceiling
                        if recording {
                            book.record(Double(elapsed), for: key(engine: "memcpy", metric: "latency", unit: "ns", size: size, cache: cache))
                            book.record(Double(size) / Double(max(elapsed, 1)), for: key(engine: "memcpy", metric: "throughput", unit: "GB/s", size: size, cache: cache))
                        }
                    }
                }
                log.progress("copy \(cache.rawValue)", done: i + 1, of: total)
            }
        }
    }

    /// Prepares the cache, creates a fresh destination, times the copy alone, then verifies it.
    private func timedCopy(_ engine: any CopyEngine, source: String, destination: String, size: Int64, cache: CacheState) throws -> (UInt64, CopyResult) {
        let cwd = FileDescriptor.currentWorkingDirectory
        switch cache {
        case .warm: try SourceFile.readThrough(source)
        case .cold: try PageCache.drop()
        }
        let input = try FileDescriptor.open(source, .readOnly)
        defer { input.closeIgnoringErrors() }
        let output = try FileDescriptor.open(destination, [.readWrite, .create, .truncate], mode: 0o600)
        defer {
            output.closeIgnoringErrors()
            try? cwd.unlink(destination)
        }
        let options = CopyOptions(skipHoles: configuration.sparse, fsync: configuration.fsync)
        let start = MonotonicClock.now()
        let result = try engine.copy(from: input, to: output, length: size, options: options)
        let elapsed = MonotonicClock.now() - start
        try SourceFile.verifyCopy(source: input, copy: output, size: size, sparse: configuration.sparse, engine: type(of: engine).identifier)
        return (elapsed, result)
    }
}

/// memcpy between two pre-touched buffers: the physical ceiling for a copy between page caches.
struct MemcpyCeiling {
    private var from: UnsafeMutableRawBufferPointer
    private var to: UnsafeMutableRawBufferPointer

    init(maximumSize: Int64) {
        let bytes = max(Int(maximumSize), 1)
        from = .allocate(byteCount: bytes, alignment: 4096)
        to = .allocate(byteCount: bytes, alignment: 4096)
        // Touch every page so the timing excludes page faults.
        from.initializeMemory(as: UInt8.self, repeating: 0x5A)
        to.initializeMemory(as: UInt8.self, repeating: 0)
    }

    mutating func time(size: Int) -> UInt64 {
        let start = MonotonicClock.now()
        to.baseAddress!.copyMemory(from: from.baseAddress!, byteCount: size)
        let elapsed = MonotonicClock.now() - start
        // Keep the copy observable so it cannot be optimized away.
        if to[size - 1] != from[size - 1] { fatalError("memcpy lost bytes") }
        return elapsed
    }

    func release() {
        from.deallocate()
        to.deallocate()
    }
}
