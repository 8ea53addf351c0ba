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

    @Option(name: .long, parsing: .unconditional, help: "File size with units.")
    var size: String = "64MiB"

    @Option(name: .long, parsing: .unconditional, help: "Lower layers; the file is in the bottom one (1-500).")
    var depth: Int = 4

    @Option(name: .long, parsing: .unconditional, help: "Random 4 KiB preads per sample.")
    var randomReads: Int = 256

    func validate() throws {
        _ = try OptionValues.size(size, "--size", minimum: 4096, why: "a sample reads 4 KiB")
        try OptionValues.check(depth, "--depth", in: 1...LayerStackSpec.maximumLayers)
        try OptionValues.check(randomReads, "--random-reads", in: 1...OptionValues.maximumCount)
    }

    func run() throws {
        var configuration = ReadProbe.Configuration()
        configuration.size = try ByteCount.parse(size)
        configuration.depth = depth
        configuration.randomReads = randomReads
        let workload = try image.load()
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            if let workload { return try workload.readProbe(options: options, fs: fs, log: log) }
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return ReadProbe(configuration: configuration, backends: try options.variants(), log: log)
        })
    }
}
