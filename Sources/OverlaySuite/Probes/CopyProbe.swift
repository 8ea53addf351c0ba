import OverlayCore
import OverlaySystem

/// Copy engines against each other and against memcpy, the ceiling for a page-cache-to-page-cache
/// copy. Every round's trials (each engine at each size, and memcpy) are shuffled so that drift
/// on a noisy machine hits them all alike; only `CopyEngine.copy` sits between the clock reads;
/// every copy is verified.
public struct CopyProbe {
    public struct Configuration: Sendable {
        public var engines: [String] = ["io_uring", "io_uring-splice", "copy_file_range", "sendfile", "read-write"]
        public var sampling = SamplingPlan()
        public var sizes: [Int64] = [4 << 10, 1 << 20, 64 << 20, 256 << 20]
        /// Sources with random holes; the copy must stay sparse.
        public var sparse = false
        public var fsync = false
        public var ioURing = IOURingCopyOptions()
        public var includeMemcpy = true
        public init() {}
    }

    public static let name = "copy"
    public let configuration: Configuration
    let sampler: Sampler

    public func estimatedBytes() -> Int64 {
        configuration.sizes.reduce(0) { $0 + 2 * $1 } + (1 << 20)
    }

    private func key(engine: String, metric: String, unit: String, size: Int64) -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: "-", metric: metric, unit: unit, parameters: [
            "engine": .string(engine), "size": .int(size),
            "fsync": .bool(configuration.fsync), "sparse": .bool(configuration.sparse),
        ])
    }

    /// The source, destination and engine of one copy, opened in the trial's set-up.
    final class CopyFiles {
        var input = FileDescriptor(rawValue: -1)
        var output = FileDescriptor(rawValue: -1)
        var method = ""
        var unsupported: String?

        func close(removing destination: String) {
            input.closeIgnoringErrors()
            output.closeIgnoringErrors()
            input = FileDescriptor(rawValue: -1)
            output = FileDescriptor(rawValue: -1)
            try? FileDescriptor.currentWorkingDirectory.unlink(destination)
        }
    }

    public func run(in runDirectory: String, book: SampleBook) throws {
        try sampler.checkCapabilities()
        let directory = runDirectory + "/copy"
        try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
        var engines: [(id: String, engine: any CopyEngine)] = []
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
            try SourceFile.write(path: path, size: size, sparse: configuration.sparse, seed: configuration.sampling.seed)
            sources[size] = path
        }
        PageCache.sync()
        let memcpy = configuration.includeMemcpy ? MemcpyCeiling(maximumSize: configuration.sizes.max() ?? 0) : nil
        defer { memcpy?.release() }
        let quiescer = try sampler.quiescer(for: [directory])
        for cache in configuration.sampling.caches {
            try sampler.run("copy", cache: cache, book: book) { _ in
                var trials: [Trial] = []
                for size in configuration.sizes {
                    for (id, engine) in engines {
                        trials.append(copyTrial(engine, id: id, source: sources[size]!, destination: directory + "/dst",
                                                size: size, quiescer: quiescer, cache: cache, book: book))
                    }
                    if let memcpy, size > 0 {
                        trials.append(Trial(
                            key: key(engine: "memcpy", metric: "latency", unit: "ns", size: size), writes: false, quiescer: nil,
                            operation: { _ in memcpy.copy(size: Int(size)) },
                            verify: { watch in
                                try memcpy.verify(size: Int(size))
                                return [Reading(key: key(engine: "memcpy", metric: "throughput", unit: "GB/s", size: size),
                                                value: Double(size) / Double(max(watch.elapsed, 1)))]
                            }))
                    }
                }
                return trials
            }
        }
    }

    /// One copy: the files are opened in the set-up, the copy alone is timed, then verified.
    private func copyTrial(
        _ engine: any CopyEngine, id: String, source: String, destination: String, size: Int64,
        quiescer: Quiescer, cache: CacheState, book: SampleBook
    ) -> Trial {
        let files = CopyFiles()
        let options = CopyOptions(skipHoles: configuration.sparse, fsync: configuration.fsync)
        let latency = key(engine: id, metric: "latency", unit: "ns", size: size)
        let throughput = key(engine: id, metric: "throughput", unit: "GB/s", size: size)
        return Trial(
            key: nil, writes: true, quiescer: quiescer,
            setUp: {
                files.input = try FileDescriptor.open(source, .readOnly)
                files.output = try FileDescriptor.open(destination, [.readWrite, .create, .truncate], mode: 0o600)
            },
            warm: { try SourceFile.readThrough(source) },
            operation: { _ in
                do {
                    files.method = try engine.copy(from: files.input, to: files.output, length: size, options: options).method
                } catch let error as CopyEngineError {
                    guard case .unsupported(let reason) = error else { throw error }
                    files.unsupported = reason
                }
            },
            verify: { watch in
                defer { files.close(removing: destination) }
                if let reason = files.unsupported {
                    for skipped in [latency, throughput] { book.skip(sampler.complete(skipped, cache, true), reason: reason) }
                    return []
                }
                try SourceFile.verifyCopy(source: files.input, copy: files.output, size: size, sparse: configuration.sparse,
                                          engine: type(of: engine).identifier)
                if files.method != id { book.warn("ran as \(files.method)", for: sampler.complete(latency, cache, true)) }
                return [Reading(key: latency, value: Double(watch.elapsed)),
                        Reading(key: throughput, value: watch.elapsed == 0 ? 0 : Double(size) / Double(watch.elapsed))]
            })
    }
}

extension CopyProbe: SamplingProbe {
    public init(configuration: Configuration, log: ProgressLog) {
        self.init(configuration: configuration, sampler: Sampler(plan: configuration.sampling, log: log))
    }
}

/// memcpy between two pre-touched buffers: the physical ceiling for a copy between page caches.
final class MemcpyCeiling {
    private let from: UnsafeMutableRawBufferPointer
    private let to: UnsafeMutableRawBufferPointer

    init(maximumSize: Int64) {
        let bytes = max(Int(maximumSize), 1)
        from = .allocate(byteCount: bytes, alignment: 4096)
        to = .allocate(byteCount: bytes, alignment: 4096)
        // Touch every page so the timing excludes page faults.
        from.initializeMemory(as: UInt8.self, repeating: 0x5A)
        to.initializeMemory(as: UInt8.self, repeating: 0)
    }

    /// The timed part.
    func copy(size: Int) {
        to.baseAddress!.copyMemory(from: from.baseAddress!, byteCount: size)
    }

    /// Keeps the copy observable so it cannot be optimized away.
    func verify(size: Int) throws {
        if to[size - 1] != from[size - 1] { throw ProbeError.verificationFailed("memcpy lost bytes") }
    }

    func release() {
        from.deallocate()
        to.deallocate()
    }
}
