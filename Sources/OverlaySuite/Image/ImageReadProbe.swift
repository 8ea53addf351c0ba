import OverlayCore
import OverlaySystem

/// Reads of an imported image's own files where its layers keep them: per layer that has one,
/// top to bottom, its largest regular file of at least 4 KiB (``ImageWorkload/readFiles(minimumSize:)``),
/// read through the merged view (`place=lower`), after a copy-up into a second view's upper
/// layer (`place=upper`), and from the plain backend's flattened copy (`place=plain`).
///
/// Metrics, warm (read through just before) or cold (caches dropped twice), with `path`,
/// `layer` and `size`: `open` (ns, `open(O_RDONLY)` alone), `firstByte` (ns: `open`, `pread` of
/// 4 KiB at 0, `close`), `sequentialRead` (GB/s: the whole file in 1 MiB `pread`s; the open is
/// not timed). Views are interleaved sample by sample; what a view reads is checked against the
/// layer's file first.
public struct ImageReadProbe {
    public struct Configuration: Sendable {
        public var samples: Int = 10
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let name = "read"
    static let blockSize = 4096
    static let sequentialBuffer = 1 << 20

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

    var files: [ImageCatalog.Entry] { workload.readFiles(minimumSize: Int64(Self.blockSize)) }

    public func estimatedBytes() -> Int64 {
        let copied = files.reduce(Int64(0)) { $0 + $1.size } * Int64(backends.count)
        return copied + (backends.contains { $0.capabilities.copiesLayers } ? workload.image.uncompressedBytes : 0)
    }

    struct PlacedView {
        var place: ReadProbe.Place
        var stack: LayerStack
        var view: any MergedView
    }

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        let files = files
        guard !files.isEmpty else { throw ProbeError.invalidArgument("image", "\(workload.directory) has no regular file of at least 4 KiB") }
        log.info("reading \(files.count) of the image's files: \(files.map { "\($0.path)@\($0.layer)" }.joined(separator: " "))")
        let set = ImageViewSet(log: log)
        defer { set.unmountAll() }
        var views: [PlacedView] = []
        for (index, backend) in backends.enumerated() {
            for place in ReadProbe.places(for: backend) {
                try SignalTrap.check()
                let (stack, view) = try set.mount(backend, workload, in: runDirectory + "/read-image-\(place.rawValue)-\(backend.identifier)-\(index)",
                                                  options: configuration.mountOptions, probe: Self.name, mounts: &mounts)
                if place == .upper {
                    for file in files {
                        let fd = try view.open(file.path, .writeOnly, mode: 0)
                        try fd.closeChecked(path: file.path)
                    }
                    PageCache.sync()
                }
                try verify(view, files)
                views.append(PlacedView(place: place, stack: stack, view: view))
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.sequentialBuffer, alignment: 4096)
        defer { buffer.deallocate() }
        let block = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Self.blockSize])
        let total = configuration.samples + configuration.warmup
        for cache in configuration.caches {
            for i in 0..<total {
                for file in files {
                    for entry in views {
                        try SignalTrap.check()
                        let view = entry.view
                        try prepare(cache, view, file, buffer)
                        var start = MonotonicClock.now()
                        var fd = try view.open(file.path, .readOnly, mode: 0)
                        let open = MonotonicClock.now() - start
                        try fd.closeChecked(path: file.path)
                        try prepare(cache, view, file, buffer)
                        start = MonotonicClock.now()
                        fd = try view.open(file.path, .readOnly, mode: 0)
                        _ = try fd.pread(into: block, at: 0)
                        try fd.closeChecked(path: file.path)
                        let firstByte = MonotonicClock.now() - start
                        try prepare(cache, view, file, buffer)
                        fd = try view.open(file.path, .readOnly, mode: 0)
                        var offset: Int64 = 0
                        start = MonotonicClock.now()
                        while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
                        let sequential = MonotonicClock.now() - start
                        fd.closeIgnoringErrors()
                        guard offset == file.size else {
                            throw ProbeError.verificationFailed("\(view.backend): read \(offset) bytes of \(file.path), which has \(file.size)")
                        }
                        guard i >= configuration.warmup else { continue }
                        var parameters = ImageViewSet.parameters(workload, view: view, options: configuration.mountOptions, fs: configuration.fs, cache: cache)
                        parameters["place"] = .string(entry.place.rawValue)
                        parameters["path"] = .string(file.path)
                        parameters["layer"] = .int(Int64(file.layer))
                        parameters["size"] = .int(file.size)
                        parameters["mountMethod"] = .string(view.mountMethod)
                        func key(_ metric: String, _ unit: String) -> SampleBook.Key {
                            .init(probe: Self.name, backend: view.backend, metric: metric, unit: unit, parameters: parameters)
                        }
                        book.record(Double(open), for: key("open", "ns"))
                        book.record(Double(firstByte), for: key("firstByte", "ns"))
                        book.record(Double(file.size) / Double(max(sequential, 1)), for: key("sequentialRead", "GB/s"))
                    }
                }
                log.progress("read image \(cache.rawValue)", done: i + 1, of: total)
            }
        }
        for entry in views {
            var parameters = ImageViewSet.parameters(workload, view: entry.view, options: configuration.mountOptions, fs: configuration.fs)
            parameters["place"] = .string(entry.place.rawValue)
            try Footprint.record(probe: Self.name, view: entry.view, workPath: entry.stack.workPath, parameters: parameters, book: book)
        }
    }

    /// Warm: read the file through the view. Cold: drop caches.
    private func prepare(_ cache: CacheState, _ view: any MergedView, _ file: ImageCatalog.Entry, _ buffer: UnsafeMutableRawBufferPointer) throws {
        switch cache {
        case .warm:
            let fd = try view.open(file.path, .readOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
        case .cold:
            try PageCache.drop()
        }
    }

    /// The first 4 KiB read through the view are the layer's own.
    private func verify(_ view: any MergedView, _ files: [ImageCatalog.Entry]) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.blockSize, alignment: 4096)
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

extension ImageReadProbe: Probe {}
