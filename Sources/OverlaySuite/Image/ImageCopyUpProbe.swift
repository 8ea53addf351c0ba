import OverlayCore
import OverlayStatistics
import OverlaySystem

/// First-write copy-up of an imported image's own files, sampled as the synthetic copy-up probe
/// samples its generated ones.
///
/// `sampleFiles` regular files are drawn from the image by size class, seeded by the plan's
/// `seed` (``ImageWorkload/sampleRounds(warmup:files:seed:)``), in rounds of at most one file
/// per class; the plan's warm-up rounds are drawn first and discarded, and each drawn file is
/// one recorded round (so the plan's `samples` does not apply). Every backend has its own
/// container layer over the image, and each round declares, to the ``Sampler``, per drawn file:
/// - `firstWrite` (ns) on every backend: `open(O_WRONLY)`, `pwrite` of 1 byte at 0, `close` of
///   the lower-only file: the copy-up; then `secondWrite` (ns), the same on the now-upper file;
/// - `control` (backend `-`): the same file copied and made durable without overlay on the
///   upper's filesystem (``CopyUpProbe/durableCopy(from:to:size:)``); after the samples,
///   `overhead` (ratio) is firstWrite ÷ control per backend and size class, with a bootstrap
///   interval (``CopyUpProbe/recordOverhead(firstWrite:control:as:book:seed:)``).
/// The round's trials are shuffled, quiesced, settled and prepared (warm, or cold) as the plan
/// says. Every first write is verified: upper holds the whole file, whose bytes are the lower
/// file's except the one written.
///
/// Measurements are per size class (`parameters.sizeClass`): `files` lists the class's files
/// in round order and `fileSizes` their sizes (so a report can pair each sample, by its round,
/// with its file's size), with `drawSeed`, `imageFilesInClass` and `imageBytesInClass`. The
/// image's whole histogram is recorded once as `imageFiles` (files, `scope=image`) per class.
/// After the samples, `firstWriteAllFiles` (ns, one value per backend) estimates first-writing
/// every regular file of the image: the sum over classes of the class's median first write
/// times its file count (a class with no sample takes the nearest measured class's median,
/// named in `unmeasuredClasses`).
public struct ImageCopyUpProbe {
    public struct Configuration: Sendable {
        /// The plan's `samples` is replaced by the rounds the draw takes.
        public var sampling = SamplingPlan()
        /// Files drawn and first-written (each once per backend) after the warm-up rounds.
        public var sampleFiles: Int = 20
        /// Time the `control` copy and derive `overhead`.
        public var control = true
        public init() {}
    }

    public static let name = "copyup"

    public let configuration: Configuration
    public let workload: ImageWorkload
    /// The draw, round by round, the warm-up rounds first.
    public let rounds: [[ImageWorkload.Draw]]
    let sampler: Sampler
    /// ``classParameters(_:)`` of every class drawn from.
    private let parametersByClass: [ImageSizeClass: [String: ParameterValue]]

    public init(configuration: Configuration, workload: ImageWorkload, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.workload = workload
        var plan = configuration.sampling
        rounds = workload.sampleRounds(warmup: plan.warmup, files: configuration.sampleFiles, seed: plan.seed)
        plan.samples = max(0, rounds.count - plan.warmup)
        sampler = Sampler(plan: plan, backends: backends, log: log)
        let measured = rounds.dropFirst(plan.warmup).joined().map(\.file)
        let inImage = Dictionary(grouping: workload.catalog.regularFiles) { ImageSizeClass(size: $0.size) }
        parametersByClass = Dictionary(uniqueKeysWithValues: Set(rounds.joined().map(\.sizeClass)).map { sizeClass in
            let files = measured.filter { ImageSizeClass(size: $0.size) == sizeClass }
            let parameters: [String: ParameterValue] = [
                "sizeClass": .string(sizeClass.description),
                "files": .string(files.map(\.path).joined(separator: ",")),
                "fileSizes": .string(files.map { String($0.size) }.joined(separator: ",")),
                "drawSeed": .int(Int64(bitPattern: plan.seed)),
                "imageFilesInClass": .int(Int64(inImage[sizeClass]?.count ?? 0)),
                "imageBytesInClass": .int(inImage[sizeClass]?.reduce(Int64(0)) { $0 + $1.size } ?? 0),
            ]
            return (sizeClass, parameters)
        })
    }

    /// The files whose first writes are recorded, round by round.
    public var measuredDraws: [ImageWorkload.Draw] { rounds.dropFirst(plan.warmup).flatMap { $0 } }

    /// Each backend copies up every drawn file, and the control copies each (the plain backend
    /// also copies the whole image), once per cache state.
    public func estimatedBytes() -> Int64 {
        let drawn = rounds.joined().reduce(Int64(0)) { $0 + $1.file.size + 4096 }
        let plain = sampler.backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0
        let copies = Int64(sampler.backends.count + (configuration.control ? 1 : 0))
        return (drawn * copies + plain) * Int64(plan.caches.count)
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        guard plan.samples > 0 else {
            throw ProbeError.invalidArgument("image", "\(workload.directory) has \(workload.catalog.regularFiles.count) regular files, too few to draw \(plan.warmup) warm-up round(s) and a sample")
        }
        let measured = measuredDraws
        log.info("drew \(measured.count) of the image's \(workload.catalog.regularFiles.count) files from \(Set(measured.map(\.sizeClass)).count) size classes in \(plan.samples) rounds (seed \(plan.seed)), after \(plan.warmup) warm-up round(s)")
        recordHistogram(book)
        for (cacheIndex, cache) in plan.caches.enumerated() {
            try SignalTrap.check()
            let set = MergedViewSet(log: log)
            let controlDirectory = runDirectory + "/copyup-image-\(cache.rawValue)-control"
            defer {
                set.unmountAll()
                // Free this state's trees before the next state makes its own.
                if cacheIndex < plan.caches.count - 1 { set.removeTrees(and: [controlDirectory]) }
            }
            for (index, backend) in sampler.backends.enumerated() {
                try set.mount(backend, workload, in: runDirectory + "/copyup-image-\(cache.rawValue)-\(backend.identifier)-\(index)",
                              options: plan.mountOptions, probe: Self.name, mounts: &mounts)
            }
            if configuration.control { try FileDescriptor.currentWorkingDirectory.makeDirectory(controlDirectory, mode: 0o755) }
            try sampler.run("copyup image", cache: cache, book: book) { round in
                try trials(set.views, rounds[round])
                    + (configuration.control ? try controlTrials(rounds[round], round: round, in: controlDirectory) : [])
            }
            for (_, view) in set.views { record(view, cache: cache, book: book) }
            for (stack, view) in set.views {
                try Footprint.record(probe: Self.name, view: view, workPath: stack.workPath,
                                     parameters: sampler.complete(workload.parameters(view, options: plan.mountOptions), cache, true), book: book)
            }
        }
    }

    // MARK: - Trials

    /// One round's first writes (each with its second write), for every drawn file and view.
    private func trials(_ views: [(stack: LayerStack, view: any MergedView)], _ draws: [ImageWorkload.Draw]) throws -> [Trial] {
        let byte = OneByte.written
        var trials: [Trial] = []
        for draw in draws {
            let file = draw.file
            let lowerFile = workload.lowerPaths[file.layer] + "/" + file.path
            for (_, view) in views {
                let quiescer = try sampler.quiescer(for: workload.quiescePaths(view))
                let calls = ViewCalls(view)
                let second = Trial(key: key(view, "secondWrite", draw.sizeClass), writes: true, quiescer: quiescer, view: view,
                                   operation: { _ in try CopyUpTrigger.write.perform(calls, file.path, size: file.size, second: true, byte: byte.pointer) })
                trials.append(Trial(
                    key: key(view, "firstWrite", draw.sizeClass), writes: true, quiescer: quiescer, view: view,
                    warm: { try SourceFile.readThrough(lowerFile) },
                    operation: { _ in try CopyUpTrigger.write.perform(calls, file.path, size: file.size, second: false, byte: byte.pointer) },
                    verify: { _ in
                        try Self.verify(view, file, lowerFile: lowerFile)
                        return []
                    },
                    then: [second]))
            }
        }
        return trials
    }

    /// One round's control copies: each drawn file from its layer into `directory`.
    private func controlTrials(_ draws: [ImageWorkload.Draw], round: Int, in directory: String) throws -> [Trial] {
        let quiescer = try sampler.quiescer(for: [directory] + workload.lowerPaths)
        return draws.map { draw in
            let file = draw.file
            let source = workload.lowerPaths[file.layer] + "/" + file.path
            let destination = directory + "/\(round)-\(draw.sizeClass.index)"
            return Trial(
                key: controlKey(draw.sizeClass), writes: true, quiescer: quiescer,
                warm: { try SourceFile.readThrough(source) },
                operation: { _ in try CopyUpProbe.durableCopy(from: source, to: destination, size: file.size) },
                verify: { _ in
                    let input = try FileDescriptor.open(source, .readOnly)
                    defer { input.closeIgnoringErrors() }
                    let copy = try FileDescriptor.open(destination, .readOnly)
                    defer { copy.closeIgnoringErrors() }
                    try SourceFile.verifyCopy(source: input, copy: copy, size: file.size, sparse: false, engine: "control")
                    return []
                })
        }
    }

    // MARK: - Keys

    /// What a size class's measurements say about the class and the files drawn from it: the
    /// class, the files measured in it in round order and their sizes, the draw's seed, and the
    /// image's files and bytes in the class.
    func classParameters(_ sizeClass: ImageSizeClass) -> [String: ParameterValue] { parametersByClass[sizeClass] ?? [:] }

    func key(_ view: any MergedView, _ metric: String, _ sizeClass: ImageSizeClass, unit: String = "ns") -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: view.backend, metric: metric, unit: unit,
                       parameters: workload.parameters(view, options: plan.mountOptions).merging(classParameters(sizeClass)) { $1 })
    }

    func controlKey(_ sizeClass: ImageSizeClass) -> SampleBook.Key {
        var parameters = workload.imageParameters.merging(classParameters(sizeClass)) { $1 }
        parameters["method"] = .string(CopyUpProbe.controlMethod)
        return SampleBook.Key(probe: Self.name, backend: CopyUpProbe.controlBackend, metric: "control", unit: "ns", parameters: parameters)
    }

    // MARK: - After the samples

    /// The image's file-size histogram, `imageFiles` per class (with the class's bytes), once.
    private func recordHistogram(_ book: SampleBook) {
        for row in workload.catalog.sizeHistogram() {
            var parameters = workload.imageParameters
            parameters["sizeClass"] = .string(row.sizeClass.description)
            parameters["imageBytesInClass"] = .int(row.bytes)
            parameters["scope"] = "image"
            let key = SampleBook.Key(probe: Self.name, backend: CopyUpProbe.controlBackend, metric: "imageFiles", unit: "files", parameters: parameters)
            if book.values(for: key).isEmpty { book.record(Double(row.files), for: key) }
        }
    }

    /// `overhead` per size class and the first-write-everything estimate, for `view`.
    private func record(_ view: any MergedView, cache: CacheState, book: SampleBook) {
        var medians: [ImageSizeClass: [Double]] = [:]
        for sizeClass in Set(measuredDraws.map(\.sizeClass)) {
            let first = sampler.complete(key(view, "firstWrite", sizeClass), cache, true)
            medians[sizeClass] = book.values(for: first, repeat: book.currentRepeat)
            guard configuration.control else { continue }
            CopyUpProbe.recordOverhead(firstWrite: first, control: sampler.complete(controlKey(sizeClass), cache, true),
                                       as: sampler.complete(key(view, "overhead", sizeClass, unit: "ratio"), cache, true),
                                       book: book, seed: plan.seed)
        }
        let classes = Dictionary(grouping: workload.catalog.regularFiles) { ImageSizeClass(size: $0.size) }.mapValues(\.count)
        let estimate = Self.estimate(medians, classes: classes)
        guard estimate.nanoseconds > 0 else { return }
        var parameters = workload.parameters(view, options: plan.mountOptions)
        parameters["files"] = .int(Int64(workload.catalog.regularFiles.count))
        parameters["method"] = .string("sum over size classes of the class median first write × the image's files in the class")
        parameters["unmeasuredClasses"] = .string(estimate.unmeasured.map(\.description).joined(separator: ","))
        book.record(estimate.nanoseconds, for: sampler.complete(
            SampleBook.Key(probe: Self.name, backend: view.backend, metric: "firstWriteAllFiles", unit: "ns", parameters: parameters), cache, true))
        let samples = medians.values.reduce(0) { $0 + $1.count }
        log.info("\(view.backend) (\(cache.rawValue)): first-writing all \(workload.catalog.regularFiles.count) of this image's files costs about \(HumanUnits.duration(nanoseconds: estimate.nanoseconds)), 10% of them about \(HumanUnits.duration(nanoseconds: estimate.nanoseconds / 10)) (medians of \(samples) samples in \(medians.count) size classes\(estimate.unmeasured.isEmpty ? "" : "; \(estimate.unmeasured.count) classes extrapolated from their nearest"))")
    }

    /// Σ over the image's size classes of (median measured first write of the class, or of the
    /// nearest measured class) × (files in the class).
    static func estimate(_ samples: [ImageSizeClass: [Double]], classes: [ImageSizeClass: Int]) -> (nanoseconds: Double, unmeasured: [ImageSizeClass]) {
        let medians = samples.compactMapValues { $0.isEmpty ? nil : Summary.percentile(sorted: $0.sorted(), 50) }
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

    // MARK: - Verification

    /// Upper holds the whole file: the written byte, then the lower file's bytes.
    private static func verify(_ view: any MergedView, _ file: ImageCatalog.Entry, lowerFile: String) throws {
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
                if n > 1, !CopyUpVerifier.equal(UnsafeMutableRawBufferPointer(rebasing: a[1...]), UnsafeMutableRawBufferPointer(rebasing: b[1...]), count: n - 1) {
                    throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper differs from the lower file")
                }
            } else if n != m || !CopyUpVerifier.equal(a, b, count: n) {
                throw ProbeError.verificationFailed("\(view.backend): \(file.path) in upper differs from the lower file at \(offset)")
            }
            if n == 0 { break }
            offset += Int64(n)
        }
    }
}

extension ImageCopyUpProbe: Probe, SamplingProbe {}
