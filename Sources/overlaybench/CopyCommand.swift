import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

struct CopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Copy engines against each other and against memcpy (the page-cache ceiling).",
        discussion: """
            Engines: \(CopyEngineKind.allIdentifiers.joined(separator: ", ")). They run interleaved \
            (A B C A B C …); every copy is verified byte for byte (and for sparseness with --sparse). \
            The io_uring engines use the settings stored by `overlaybench tune copy` unless \
            --queue-depth, --block-size or --fixed-buffers are given.
            """)

    @OptionGroup var options: RunOptions

    @Option(name: .long, help: "Comma-separated engines.")
    var engines: String = "io_uring,io_uring-splice,copy_file_range,sendfile,read-write"

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated sizes with units.")
    var sizes: String = "4KiB,1MiB,64MiB,256MiB"

    @Flag(name: .long, help: "Sources with random holes; copies skip holes (SEEK_DATA/SEEK_HOLE).")
    var sparse = false

    @Flag(name: .long, help: "fsync each copy (io_uring engines use IORING_OP_FSYNC).")
    var fsync = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Also time memcpy between two buffers of each size (the ceiling; it holds 2 × the largest size in memory).")
    var memcpy = true

    @Option(name: .long, parsing: .unconditional, help: "io_uring queue depth.")
    var queueDepth: Int?

    @Option(name: .long, parsing: .unconditional, help: "io_uring block size with units.")
    var blockSize: String?

    @Flag(name: .long, inversion: .prefixedNo, help: "io_uring registered (fixed) buffers.")
    var fixedBuffers: Bool?

    func validate() throws {
        guard !sizes.isEmpty else { throw ValidationError("--sizes is empty") }
        _ = try OptionValues.sizes(sizes, "--sizes")
        if let blockSize {
            _ = try OptionValues.size(blockSize, "--block-size", minimum: OptionValues.blockSizes.lowerBound, maximum: OptionValues.blockSizes.upperBound)
        }
        if let queueDepth { try OptionValues.check(queueDepth, "--queue-depth", in: 1...1024) }
        do { try ioURingOptions().validate() } catch { throw ValidationError("\(error)") }
        for engine in engines.split(separator: ",") where !CopyEngineKind.allIdentifiers.contains(String(engine)) {
            throw ValidationError("--engines: unknown engine \(engine) (known: \(CopyEngineKind.allIdentifiers.joined(separator: ", ")))")
        }
    }

    func ioURingOptions() throws -> IOURingCopyOptions {
        var result = CopyTuning.load()?.options ?? IOURingCopyOptions()
        if let queueDepth { result.queueDepth = queueDepth }
        if let blockSize { result.blockSize = Int(try ByteCount.parse(blockSize)) }
        if let fixedBuffers { result.fixedBuffers = fixedBuffers }
        return result
    }

    func run() throws {
        var configuration = CopyProbe.Configuration()
        configuration.engines = engines.split(separator: ",").map(String.init)
        configuration.sizes = try ByteCount.parseList(sizes)
        configuration.sparse = sparse
        configuration.fsync = fsync
        configuration.ioURing = try ioURingOptions()
        configuration.includeMemcpy = memcpy
        try ProbeRunner(options: options, requireBackends: false).run(eachFilesystem: { fs, log in
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return CopyProbe(configuration: configuration, log: log)
        })
    }
}

struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Tune the io_uring copy engine on this filesystem.",
        subcommands: [TuneCopyCommand.self])
}

struct TuneCopyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copy",
        abstract: "Sweep queue depth, block size and fixed buffers; report and optionally store the best.")

    @Option(name: .long, help: "Where to run (a work root).")
    var workRoot: String = WorkRoot.defaultPath

    @Option(name: .long, parsing: .unconditional, help: "File size to tune on.")
    var size: String = "64MiB"

    @Option(name: .long, parsing: .unconditional, help: "Queue depths to try.")
    var queueDepths: String = "1,2,4,8,16"

    @Option(name: .long, parsing: .unconditional, help: "Block sizes to try.")
    var blockSizes: String = "256KiB,1MiB,4MiB"

    @Option(name: .long, parsing: .unconditional, help: "Interleaved rounds per candidate.")
    var samples: Int = 5

    @Flag(name: .long, help: "Store the best settings for `run copy` and the reference overlay.")
    var save = false

    func validate() throws {
        try OptionValues.check(samples, "--samples", in: 1...OptionValues.maximumSamples)
        _ = try OptionValues.size(size, "--size", minimum: 1)
        guard !blockSizes.isEmpty, !queueDepths.isEmpty else { throw ValidationError("--queue-depths and --block-sizes need at least one value each") }
        // Pairs whose buffers together are too large are skipped by the sweep, as before.
        _ = try OptionValues.integers(queueDepths, "--queue-depths", in: 1...1024)
        let sizes = try OptionValues.sizes(blockSizes, "--block-sizes", minimum: OptionValues.blockSizes.lowerBound, maximum: OptionValues.blockSizes.upperBound)
        if let odd = sizes.first(where: { $0 % 4096 != 0 }) {
            throw ValidationError("--block-sizes: \(ByteCount.format(odd)) is not a multiple of 4KiB")
        }
    }

    func run() throws {
        SignalTrap.install()
        let log = ProgressLog()
        let session = try RunSession(workRootPath: workRoot, commandLine: CommandLine.arguments, log: log)
        defer { session.tearDown() }
        var candidates: [CopyTuning.Candidate] = []
        for qd in queueDepths.split(separator: ",").compactMap({ Int($0) }) {
            for bs in try ByteCount.parseList(blockSizes) {
                for fixed in [false, true] { candidates.append(.init(queueDepth: qd, blockSize: Int(bs), fixedBuffers: fixed)) }
            }
        }
        let bytes = try ByteCount.parse(size)
        let ranked = try CopyTuning.sweep(candidates: candidates, size: bytes, samples: samples, directory: session.runDirectory, log: log)
        print("queue depth  block size  fixed buffers  median GB/s")
        for (candidate, gbps) in ranked {
            print("\(String(candidate.queueDepth).padding(toLength: 11, withPad: " ", startingAt: 0))  \(ByteCount.format(Int64(candidate.blockSize)).padding(toLength: 10, withPad: " ", startingAt: 0))  \(String(candidate.fixedBuffers).padding(toLength: 13, withPad: " ", startingAt: 0))  \(String(format: "%.2f", gbps))")
        }
        guard let (best, gbps) = ranked.first else { return }
        let fs = MountTable.current().backingMount(of: session.runDirectory)?.fileSystemType ?? "unknown"
        let tuning = CopyTuning(queueDepth: best.queueDepth, blockSize: best.blockSize, fixedBuffers: best.fixedBuffers,
                                throughput: gbps, fileSystem: fs, measuredAt: RunEnvironment.timestamp())
        print("best: queue depth \(best.queueDepth), block size \(ByteCount.format(Int64(best.blockSize))), fixed buffers \(best.fixedBuffers): \(String(format: "%.2f", gbps)) GB/s on \(fs)")
        if save {
            try tuning.save()
            print("stored in \(CopyTuning.defaultPath); `run copy` uses it unless flags override")
        }
    }
}
