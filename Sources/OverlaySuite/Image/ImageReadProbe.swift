import OverlayCore
import OverlaySystem

/// Reads of an imported image's own files where its layers keep them: per layer that has one,
/// top to bottom, its largest regular file of at least 4 KiB (``ImageWorkload/readFiles(minimumSize:)``),
/// read through the merged view (`place=lower`), after a copy-up into a second view's upper
/// layer (`place=upper`), and from the plain backend's flattened copy (`place=plain`, the
/// control of the other places: `role=control`, theirs `control=place=plain`).
///
/// Metrics, with `path`, `layer` and `size`, from the synthetic probe's trials
/// (`ReadProbe+Trials.swift`): `open` (ns, `open(O_RDONLY)` alone), `firstByte` (ns: `open`,
/// `pread` of 4 KiB at 0, `close`), `sequentialRead` (GB/s: the whole file in 1 MiB `pread`s; the
/// open is not timed). Every file in every place is one trial per metric in each round, in the
/// sampler's shuffled order; what a view reads is checked against the layer's file first.
public struct ImageReadProbe {
    public typealias Configuration = ImageProbeConfiguration

    public static let name = "read"

    public let configuration: Configuration
    public let workload: ImageWorkload
    let sampler: Sampler

    public init(configuration: Configuration, workload: ImageWorkload, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.workload = workload
        sampler = Sampler(plan: configuration.sampling, backends: backends, log: log)
    }

    var files: [ImageCatalog.Entry] { workload.readFiles(minimumSize: Int64(ReadProbe.blockSize)) }

    public func estimatedBytes() -> Int64 {
        let copied = files.reduce(Int64(0)) { $0 + $1.size } * Int64(sampler.backends.count)
        return copied + (sampler.backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0)
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        let files = files
        guard !files.isEmpty else { throw ProbeError.invalidArgument("image", "\(workload.directory) has no regular file of at least 4 KiB") }
        log.info("reading \(files.count) of the image's files: \(files.map { "\($0.path)@\($0.layer)" }.joined(separator: " "))")
        let set = MergedViewSet(log: log)
        defer { set.unmountAll() }
        var views: [ReadProbe.PlacedView] = []
        for (index, backend) in sampler.backends.enumerated() {
            for place in ReadProbe.places(for: backend) {
                try SignalTrap.check()
                let (stack, view) = try set.mount(backend, workload, in: runDirectory + "/read-image-\(place.rawValue)-\(backend.identifier)-\(index)",
                                                  options: plan.mountOptions, probe: Self.name, mounts: &mounts)
                if place == .upper {
                    for file in files {
                        let fd = try view.open(file.path, .writeOnly, mode: 0)
                        try fd.closeChecked(path: file.path)
                    }
                    PageCache.sync()
                }
                try verify(view, files)
                views.append(ReadProbe.PlacedView(place: place, stack: stack, view: view))
            }
        }
        let buffers = ReadProbe.Buffers()
        for cache in plan.caches {
            try sampler.run("read image", cache: cache, book: book) { _ in
                try views.flatMap { entry in
                    let quiescer = try sampler.quiescer(for: workload.quiescePaths(entry.view))
                    return files.flatMap { file in
                        let target = ReadProbe.Target(view: entry.view, path: file.path, size: file.size, quiescer: quiescer, buffers: buffers)
                        return [
                            ReadProbe.openTrial(target, key: key(entry, file, "open", unit: "ns")),
                            ReadProbe.firstByteTrial(target, key: key(entry, file, "firstByte", unit: "ns")),
                            ReadProbe.sequentialReadTrial(target, key: key(entry, file, "sequentialRead", unit: "GB/s")),
                        ]
                    }
                }
            }
        }
        for entry in views {
            var parameters = workload.parameters(entry.view, options: plan.mountOptions)
            parameters["place"] = .string(entry.place.rawValue)
            parameters["fs"] = .string(plan.fs)
            try Footprint.record(probe: Self.name, view: entry.view, workPath: entry.stack.workPath, parameters: parameters, book: book)
        }
    }

    func key(_ entry: ReadProbe.PlacedView, _ file: ImageCatalog.Entry, _ metric: String, unit: String) -> SampleBook.Key {
        var parameters = workload.parameters(entry.view, options: plan.mountOptions)
        parameters["place"] = .string(entry.place.rawValue)
        parameters["path"] = .string(file.path)
        parameters["layer"] = .int(Int64(file.layer))
        parameters["size"] = .int(file.size)
        parameters["mountMethod"] = .string(entry.view.mountMethod)
        if entry.place == .plain { parameters["role"] = "control" } else { parameters["control"] = "place=plain" }
        if metric == "sequentialRead" { parameters["bufferSize"] = .int(Int64(ReadProbe.sequentialBuffer)) }
        return SampleBook.Key(probe: Self.name, backend: entry.view.backend, metric: metric, unit: unit, parameters: parameters)
    }

    /// The first 4 KiB read through the view are the layer's own.
    private func verify(_ view: any MergedView, _ files: [ImageCatalog.Entry]) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ReadProbe.blockSize, alignment: 4096)
        defer { buffer.deallocate() }
        for file in files {
            let lower = try FileDescriptor.open(workload.lowerPaths[file.layer] + "/" + file.path, .readOnly)
            defer { lower.closeIgnoringErrors() }
            let expected = Array(buffer[0..<(try lower.preadFully(into: buffer, at: 0))])
            let fd = try view.open(file.path, .readOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            let n = try fd.preadFully(into: buffer, at: 0)
            guard Array(buffer[0..<n]) == expected else {
                throw ProbeError.verificationFailed("\(view.backend): \(file.path) read through the view is not the image's file")
            }
        }
    }
}

extension ImageReadProbe: Probe, SamplingProbe {}
