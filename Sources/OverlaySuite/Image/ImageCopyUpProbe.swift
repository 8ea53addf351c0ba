import OverlayCore
import OverlayStatistics
import OverlaySystem

/// First-write copy-up of an imported image's own files.
///
/// `sampleFiles` regular files are drawn from the image by size class (``ImageWorkload/sampleFiles(_:seed:)``,
/// seeded), and each backend first-writes every one of them once, interleaved file by file:
/// - `firstWrite` (ns): `open(O_WRONLY)`, `pwrite` of 1 byte at 0, `close` of the lower-only
///   file: the copy-up;
/// - `secondWrite` (ns): the same on the now-upper file.
/// One measurement per size class (`parameters.sizeClass`), whose `files` parameter lists the
/// files drawn, in sample order, with `drawSeed`; `imageFilesInClass` and `imageBytesInClass`
/// say how much of the image the class holds. Every sample is verified: upper holds the whole
/// file, whose bytes are the lower file's except the one written.
///
/// After the samples, `firstWriteAllFiles` (ns, one value per backend) estimates first-writing
/// every regular file of the image: the sum over classes of the class's median first write
/// times its file count (a class with no sample takes the nearest measured class's median,
/// named in `unmeasuredClasses`).
public struct ImageCopyUpProbe {
    public struct Configuration: Sendable {
        public var sampleFiles: Int = 20
        /// Files drawn first and discarded.
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var seed: UInt64 = 1
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let name = "copyup"

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

    /// The files the run writes, warm-up first.
    public func draws() -> [ImageWorkload.Draw] {
        workload.sampleFiles(configuration.sampleFiles + configuration.warmup, seed: configuration.seed)
    }

    /// Each backend copies up every drawn file (the plain backend also copies the whole image).
    public func estimatedBytes() -> Int64 {
        let drawn = draws().reduce(Int64(0)) { $0 + $1.file.size + 4096 }
        let plain = backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0
        return drawn * Int64(backends.count * configuration.caches.count) + plain * Int64(configuration.caches.count)
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        let draws = draws()
        guard draws.count > configuration.warmup else {
            throw ProbeError.invalidArgument("image", "\(workload.directory) has \(workload.catalog.regularFiles.count) regular files, too few to draw \(configuration.warmup + 1)")
        }
        let classes = Dictionary(grouping: workload.catalog.regularFiles) { ImageSizeClass(size: $0.size) }
        let measured = Array(draws.dropFirst(configuration.warmup))
        log.info("drew \(measured.count) of the image's \(workload.catalog.regularFiles.count) files from \(Set(measured.map(\.sizeClass)).count) size classes (seed \(configuration.seed))")
        for (cacheIndex, cache) in configuration.caches.enumerated() {
            try SignalTrap.check()
            let set = ImageViewSet(log: log)
            defer {
                set.unmountAll()
                if cacheIndex < configuration.caches.count - 1 {
                    for directory in set.directories where MountTable.current().mounts(under: directory).isEmpty {
                        do { try TreeRemover.remove(directory) } catch { log.warning("remove \(directory): \(error)") }
                    }
                }
            }
            for (index, backend) in backends.enumerated() {
                try set.mount(backend, workload, in: runDirectory + "/copyup-image-\(cache.rawValue)-\(backend.identifier)-\(index)",
                              options: configuration.mountOptions, probe: Self.name, mounts: &mounts)
            }
            var firstWrites: [String: [ImageSizeClass: [Double]]] = [:]
            for (i, draw) in draws.enumerated() {
                let lowerFile = workload.lowerPaths[draw.file.layer] + "/" + draw.file.path
                for (_, view) in set.views {
                    try SignalTrap.check()
                    let calls = ViewCalls(view)
                    try ImageViewSet.prepare(cache, lowerFile: lowerFile)
                    let first = try Self.timedWrite(calls, draw.file.path, size: draw.file.size, second: false)
                    try verify(view, draw.file, lowerFile: lowerFile)
                    let second = try Self.timedWrite(calls, draw.file.path, size: draw.file.size, second: true)
                    guard i >= configuration.warmup else { continue }
                    let files = measured.filter { $0.sizeClass == draw.sizeClass }
                    var parameters = ImageViewSet.parameters(workload, view: view, options: configuration.mountOptions, fs: configuration.fs, cache: cache)
                    parameters["sizeClass"] = .string(draw.sizeClass.description)
                    parameters["files"] = .string(files.map(\.file.path).joined(separator: ","))
                    parameters["drawSeed"] = .int(Int64(bitPattern: configuration.seed))
                    parameters["imageFilesInClass"] = .int(Int64(classes[draw.sizeClass]?.count ?? 0))
                    parameters["imageBytesInClass"] = .int(classes[draw.sizeClass]?.reduce(Int64(0)) { $0 + $1.size } ?? 0)
                    book.record(Double(first), for: .init(probe: Self.name, backend: view.backend, metric: "firstWrite", unit: "ns", parameters: parameters))
                    book.record(Double(second), for: .init(probe: Self.name, backend: view.backend, metric: "secondWrite", unit: "ns", parameters: parameters))
                    firstWrites[view.backend, default: [:]][draw.sizeClass, default: []].append(Double(first))
                }
                log.progress("copyup image \(cache.rawValue)", done: i + 1, of: draws.count)
            }
            for (_, view) in set.views {
                guard let perClass = firstWrites[view.backend] else { continue }
                let estimate = Self.estimate(perClass, classes: classes.mapValues(\.count))
                var parameters = ImageViewSet.parameters(workload, view: view, options: configuration.mountOptions, fs: configuration.fs, cache: cache)
                parameters["files"] = .int(Int64(workload.catalog.regularFiles.count))
                parameters["method"] = .string("sum over size classes of the class median first write × the image's files in the class")
                parameters["unmeasuredClasses"] = .string(estimate.unmeasured.map(\.description).joined(separator: ","))
                book.record(estimate.nanoseconds, for: .init(probe: Self.name, backend: view.backend, metric: "firstWriteAllFiles", unit: "ns", parameters: parameters))
                log.info("\(view.backend) (\(cache.rawValue)): first-writing all \(workload.catalog.regularFiles.count) of this image's files costs about \(HumanUnits.duration(nanoseconds: estimate.nanoseconds)), 10% of them about \(HumanUnits.duration(nanoseconds: estimate.nanoseconds / 10)) (medians of \(perClass.values.reduce(0) { $0 + $1.count }) samples in \(perClass.count) size classes\(estimate.unmeasured.isEmpty ? "" : "; \(estimate.unmeasured.count) classes extrapolated from their nearest"))")
            }
            for entry in set.views {
                try Footprint.record(probe: Self.name, view: entry.view, workPath: entry.stack.workPath,
                                     parameters: ImageViewSet.parameters(workload, view: entry.view, options: configuration.mountOptions,
                                                                         fs: configuration.fs, cache: cache), book: book)
            }
        }
    }

    /// Σ over the image's size classes of (median measured first write of the class, or of the
    /// nearest measured class) × (files in the class).
    static func estimate(_ samples: [ImageSizeClass: [Double]], classes: [ImageSizeClass: Int]) -> (nanoseconds: Double, unmeasured: [ImageSizeClass]) {
        let medians = samples.compactMapValues { values -> Double? in
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        guard !medians.isEmpty else { return (0, classes.keys.sorted()) }
        var total = 0.0
        var unmeasured: [ImageSizeClass] = []
        for (sizeClass, count) in classes {
            if let median = medians[sizeClass] {
                total += median * Double(count)
            } else {
                unmeasured.append(sizeClass)
                let nearest = medians.keys.min { abs($0.index - sizeClass.index) < abs($1.index - sizeClass.index) }!
                total += medians[nearest]! * Double(count)
            }
        }
        return (total, unmeasured.sorted())
    }

    /// Upper holds the whole file: the written byte, then the lower file's bytes.
    private func verify(_ view: any MergedView, _ file: ImageCatalog.Entry, lowerFile: String) throws {
        let upperFile = view.upperPath + "/" + file.path
        let upper: FileDescriptor
        do { upper = try FileDescriptor.open(upperFile, [.readOnly, .noFollow]) } catch {
            throw ProbeError.verificationFailed("\(view.backend): \(file.path) was not copied up to \(view.upperPath): \(error)")
        }
        defer { upper.closeIgnoringErrors() }
        let lower = try FileDescriptor.open(lowerFile, .readOnly)
        defer { lower.closeIgnoringErrors() }
        let size = try upper.status().size
        guard size == max(file.size, 1) else {
            throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper has \(size) bytes, the lower file \(file.size)")
        }
        let a = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { a.deallocate(); b.deallocate() }
        var offset: Int64 = 0
        while offset < file.size || offset == 0 {
            let n = try upper.preadFully(into: a, at: offset)
            let m = try lower.preadFully(into: b, at: offset)
            if offset == 0 {
                guard n > 0, a[0] == CopyUpVerifier.writtenByte, m == n || file.size == 0 else {
                    throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper does not start with the byte written")
                }
                if n > 1, !Self.same(a, b, from: 1, to: n) {
                    throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper differs from the lower file")
                }
            } else if n != m || !Self.same(a, b, from: 0, to: n) {
                throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper differs from the lower file at \(offset)")
            }
            if n == 0 { break }
            offset += Int64(n)
        }
    }

    /// Whether bytes `from..<to` of `a` and `b` are equal, compared eight at a time.
    static func same(_ a: UnsafeMutableRawBufferPointer, _ b: UnsafeMutableRawBufferPointer, from: Int, to: Int) -> Bool {
        var index = from
        while index + 8 <= to {
            if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) { return false }
            index += 8
        }
        while index < to {
            if a[index] != b[index] { return false }
            index += 1
        }
        return true
    }
}

extension ImageCopyUpProbe: Probe {}

extension ImageCopyUpProbe {
    /// The first (or second) one-byte write to `path`, timed around the trigger's syscalls only.
    /// This probe still runs its own loop; moving it onto ``Sampler`` (quiesce, shuffle, rounds)
    /// is the open part of issue 16.
    static func timedWrite(_ calls: ViewCalls, _ path: String, size: Int64, second: Bool) throws -> UInt64 {
        let byte = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
        defer { byte.deallocate() }
        byte[0] = CopyUpVerifier.writtenByte
        let one = UnsafeRawBufferPointer(byte)
        let start = MonotonicClock.now()
        try CopyUpTrigger.write.perform(calls, path, size: size, second: second, byte: one)
        return MonotonicClock.now() - start
    }
}
