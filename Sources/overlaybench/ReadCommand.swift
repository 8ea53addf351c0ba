import ArgumentParser
import OverlayCore
import OverlaySuite

struct ReadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read cost of one file in a lower layer, in upper after a copy-up, and in a plain directory.",
        discussion: """
            Overlay backends (kernel, fuse) are measured with the file in the bottom of --depth \
            lower layers (place=lower) and after a copy-up (place=upper); the plain backend gives \
            place=plain. Metrics: open, firstByte (open + 4 KiB pread + close), randomRead (each \
            4 KiB pread at seeded offsets; also randomReadPercentiles from an HDR histogram) and \
            sequentialRead (GB/s, 1 MiB preads).
            """
    )

    @OptionGroup var options: RunOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "File size with units.")
    var size: String = "64MiB"

    @Option(name: .long, help: "Lower layers; the file is in the bottom one (1-500).")
    var depth: Int = 4

    @Option(name: .long, help: "Random 4 KiB preads per sample.")
    var randomReads: Int = 256

    func validate() throws {
        do {
            let bytes = try ByteCount.parse(size)
            guard bytes >= 4096 else { throw ValidationError("--size must be at least 4KiB (got \(size))") }
        } catch let error as ByteCountError {
            throw ValidationError("--size: \(error)")
        }
        guard (1...LayerStackSpec.maximumLayers).contains(depth) else {
            throw ValidationError("--depth must be in 1...\(LayerStackSpec.maximumLayers) (got \(depth))")
        }
        guard randomReads >= 1 else { throw ValidationError("--random-reads must be at least 1") }
    }

    func run() throws {
        var configuration = ReadProbe.Configuration()
        configuration.size = try ByteCount.parse(size)
        configuration.depth = depth
        configuration.randomReads = randomReads
        configuration.samples = options.samples
        configuration.warmup = options.warmup
        configuration.caches = try CacheState.parseList(options.cache)
        configuration.seed = options.seed
        let workload = try image.load()
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            if let workload { return try workload.readProbe(options: options, fs: fs, log: log) }
            var configuration = configuration
            configuration.fs = fs
            return ReadProbe(configuration: configuration, backends: try options.variants(), log: log)
        })
    }
}
