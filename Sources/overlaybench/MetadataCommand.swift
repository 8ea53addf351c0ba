import ArgumentParser
import OverlayCore
import OverlaySuite

struct MetadataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metadata",
        abstract: "Namespace and attribute changes to lower names: cost and upper-layer space.",
        discussion: """
            Times one call per fresh lower-only name, relative to the merged root: unlink (a \
            whiteout), rmdir then mkdir (an opaque directory; rmdir, mkdir and the pair \
            rmdirMkdir), renameFile, renameDir (EXDEV without redirect_dir=on is recorded as \
            parameters.outcome, not a failure), chmod and chown of a --file-size file (a full or \
            metacopy copy-up: parameters.copyUp), and createDeep, a file created --path-depths \
            lower-only levels down (ancestor copy-up). Each sample is verified, and its change to \
            upper is recorded as upperBytes/upperInodes (scope=op); each view's whole upper and \
            work after the run as upperBytes, upperInodes, workBytes, workInodes (scope=run). \
            Without --mount-options the overlay backends run three variants, interleaved: the \
            defaults, metacopy=on and redirect_dir=on.
            """
    )

    /// The option sets swept when `--mount-options` is not given.
    static let defaultOptionSets = ";metacopy=on;redirect_dir=on"

    @OptionGroup var options: RunOptions

    @Option(name: .long, help: "Comma-separated operations: \(MetadataProbe.Operation.allCases.map(\.rawValue).joined(separator: ",")).")
    var ops: String = MetadataProbe.Operation.allCases.map(\.rawValue).joined(separator: ",")

    @Option(name: .long, parsing: .unconditional, help: "Size of the files chmod, chown and renameFile act on.")
    var fileSize: String = "1MiB"

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated lower-only directory levels for createDeep.")
    var pathDepths: String = MetadataProbe.defaultPathDepths.map(String.init).joined(separator: ",")

    @Option(name: .long, parsing: .unconditional, help: "Lower layers in the stack (1-500); the names are in the top one.")
    var layers: Int = 1

    func validate() throws {
        do { _ = try MetadataProbe.Operation.parseList(ops) } catch { throw ValidationError("\(error)") }
        _ = try OptionValues.size(fileSize, "--file-size")
        let depths = try OptionValues.integers(pathDepths, "--path-depths", in: 1...StackShapes.maximumDeepLevels)
        guard !depths.isEmpty else { throw ValidationError("--path-depths is empty") }
        try OptionValues.check(layers, "--layers", in: 1...LayerStackSpec.maximumLayers)
    }

    func run() throws {
        var configuration = MetadataProbe.Configuration()
        configuration.operations = try MetadataProbe.Operation.parseList(ops)
        configuration.fileSize = try ByteCount.parse(fileSize)
        configuration.pathDepths = try LookupCommand.parseInts(pathDepths, "--path-depths")
        configuration.layers = layers
        var options = options
        if options.mountOptions.isEmpty { options.mountOptions = Self.defaultOptionSets }
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return MetadataProbe(configuration: configuration, backends: try options.variants(), log: log)
        })
    }
}
