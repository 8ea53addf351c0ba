import ArgumentParser
import OverlayCore
import OverlaySuite

struct LookupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Path lookup (statx) and readdir cost against the number of lower layers.",
        discussion: """
            For each depth, times one statx relative to the merged root of a name in the top, \
            middle and bottom lower layer, a whiteout-hidden name, a directory merged through \
            every layer, a path --deep-levels directories below it, and an absent name \
            (metric stat, parameter position). A least-squares fit of ns against depth per \
            position is recorded as metric statSlope (ns/layer, CI in slopeLow/slopeHigh). \
            readdir times open, count and close of a merged directory against depth and against \
            entries per layer (--widths). Cold means sync and drop_caches twice before every sample \
            (parameters.coldMethod says what that keeps); cold samples also record readBytes.
            """
    )

    @OptionGroup var options: RunOptions
    @OptionGroup var image: ImageOptions

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated lower-layer counts (1-500).")
    var depths: String = LookupProbe.defaultDepths.map(String.init).joined(separator: ",")

    @Option(name: .long, parsing: .unconditional, help: "Directory levels of the deep path below the merged directory.")
    var deepLevels: Int = 8

    @Option(name: .long, parsing: .unconditional, help: "Entries per layer of the directory read at each depth.")
    var readdirWidth: Int = 10

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated entries per layer for the readdir width sweep (empty: none).")
    var widths: String = LookupProbe.defaultWidths.map(String.init).joined(separator: ",")

    @Option(name: .long, parsing: .unconditional, help: "Lower layers of the width sweep's stack.")
    var widthDepth: Int = 4

    @Flag(name: .long, inversion: .prefixedNo, help: "Time readdir as well as lookups.")
    var readdir = true

    func validate() throws {
        let parsedDepths = try OptionValues.integers(depths, "--depths", in: 1...LayerStackSpec.maximumLayers)
        guard !parsedDepths.isEmpty else { throw ValidationError("--depths is empty") }
        try OptionValues.check(deepLevels, "--deep-levels", in: 1...StackShapes.maximumDeepLevels)
        try OptionValues.check(readdirWidth, "--readdir-width", in: 0...OptionValues.maximumCount)
        _ = try OptionValues.integers(widths, "--widths", in: 0...OptionValues.maximumCount)
        try OptionValues.check(widthDepth, "--width-depth", in: 1...LayerStackSpec.maximumLayers)
    }

    static func parseInts(_ text: String, _ flag: String) throws -> [Int] {
        try text.split(separator: ",").map { item in
            guard let value = Int(item.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(flag): \"\(item)\" is not an integer")
            }
            return value
        }
    }

    func run() throws {
        var configuration = LookupProbe.Configuration()
        configuration.depths = try Self.parseInts(depths, "--depths")
        configuration.deepLevels = deepLevels
        configuration.readdir = readdir
        configuration.readdirWidth = readdirWidth
        configuration.widths = try Self.parseInts(widths, "--widths")
        configuration.widthDepth = widthDepth
        let workload = try image.load()
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            if let workload { return try workload.lookupProbe(options: options, fs: fs, log: log) }
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return LookupProbe(configuration: configuration, backends: try options.variants(), log: log)
        })
    }
}
