import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a probe, or a whole suite (--suite FILE), and write a result file.",
        discussion: """
            `overlaybench run --suite suites/quick.yaml --out results/quick.json` runs every entry \
            of the suite into one result file. A suite file that is missing or unreadable exits 66 \
            with the errno; one that is empty or does not decode exits 65 with the key and line at fault.
            """,
        subcommands: [SuiteRunCommand.self, CopyUpCommand.self, CopyCommand.self, LookupCommand.self, ReadCommand.self, MetadataCommand.self, ShiftCommand.self],
        defaultSubcommand: SuiteRunCommand.self
    )
}

/// `overlaybench run --suite FILE`: the default subcommand of `run`, so that the suite's
/// options (`--out`, `--force`, …) do not clash with the probes' own.
struct SuiteRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run every entry of a suite file (YAML) into one result file.")

    @Option(name: .long, help: "The suite file (YAML), e.g. suites/quick.yaml.")
    var suite: String

    @Option(name: .long, help: "Write the JSON result file here (atomically).")
    var out: String?

    @Flag(name: .long, help: "Replace --out if it exists.")
    var force = false

    @Option(name: .long, help: "Where trees, mounts and loop images live.")
    var workRoot: String = WorkRoot.defaultPath

    @Flag(name: .long, help: "Print the JSON result on stdout instead of the table.")
    var json = false

    @Flag(name: .long, help: "Keep the generated trees (mounts and loop devices are always removed).")
    var keep = false

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Quiesce before each timed call (default: where the call writes); an entry's quiesce key wins.")
    var quiesce: Bool?

    @Flag(name: .long, inversion: .prefixedNo, help: "Release each sample's files from the page cache after it (default: where the call writes); an entry's releasePages key wins.")
    var releasePages: Bool?

    @Option(name: .long, help: "Run the whole suite N times and report each figure's between-repeat CV of the p50s.")
    var `repeat`: Int = 1

    func run() throws {
        let file = try SuiteFile.load(suite)
        var arguments = ["--work-root", workRoot]
        if let out { arguments += ["--out", out] }
        for (flag, on) in [("--force", force), ("--json", json), ("--keep", keep), ("--quiet", quiet)] where on {
            arguments.append(flag)
        }
        if let quiesce { arguments.append(quiesce ? "--quiesce" : "--no-quiesce") }
        if let releasePages { arguments.append(releasePages ? "--release-pages" : "--no-release-pages") }
        arguments += ["--repeat", String(`repeat`)]
        let options = try RunOptions.parse(arguments)
        let defaults = try options.samplingPlan(fs: "root")
        try ProbeRunner(options: options, requireBackends: false).run { session in
            let runner = SuiteRunner(suite: file, session: session, defaults: defaults)
            try runner.validate()
            try session.repeating(options.repeat) { try runner.run() }
        }
    }
}

struct CopyUpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "copyup",
        abstract: "First-write copy-up cost against file size.",
        discussion: """
            Times, per fresh lower-only file: firstWrite (open O_WRONLY, pwrite 1 byte, close: \
            the copy-up), secondWrite (the same on the now-upper file) and open (open O_WRONLY \
            alone, on other fresh files). Every sample is verified byte for byte. --trigger \
            times another copy-up call instead (metrics firstOp, secondOp); --sparse makes the \
            lower files sparse and records upperAllocatedBytes and lowerAllocatedBytes; --jobs N \
            releases N threads at once, first-writing distinct files (parallelFirstWrite, \
            firstWriteThroughput) or racing on one (raceLatency, verified to copy up once). \
            upperBytes, upperInodes, workBytes and workInodes are recorded after the samples.
            """
    )

    @OptionGroup var options: RunOptions
    @OptionGroup var image: ImageOptions
    @OptionGroup var imageSample: ImageSampleOptions

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated sizes with units (0,4KiB,64KiB,1MiB,16MiB,64MiB,256MiB).")
    var sizes: String = "0,4KiB,64KiB,1MiB,16MiB,64MiB,256MiB"

    @Option(name: .long, parsing: .unconditional, help: "Lower layers in the stack (1-500); the files are in the top one.")
    var layers: Int = 1

    @Option(name: .long, help: "The call that copies up: \(CopyUpTrigger.allCases.map(\.rawValue).joined(separator: "|")).")
    var trigger: String = CopyUpTrigger.write.rawValue

    @Flag(name: .long, help: "Lower files with a hole in every other 1 MiB chunk.")
    var sparse = false

    @Option(name: .long, parsing: .unconditional, help: "Threads first-writing at once (with --trigger write; 1-\(OptionValues.maximumJobs)).")
    var jobs: Int?

    @Option(name: .long, help: "With --jobs: distinct (a file per thread) or same (all threads race on one file).")
    var jobsMode: String = CopyUpProbe.JobsMode.distinct.rawValue

    @Flag(name: .long, inversion: .prefixedNo, help: "Also time the control (the same bytes copied with copy_file_range and fsynced on the upper's filesystem, without overlay) and the overhead ratio, with --trigger write.")
    var control = true

    func validate() throws {
        do {
            let parsed = try CopyUpTrigger.parse(trigger)
            if jobs != nil && parsed != .write { throw ValidationError("--jobs times first writes: it needs --trigger write") }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        if let jobs {
            try OptionValues.check(jobs, "--jobs", in: 1...OptionValues.maximumJobs, why: "one thread per job")
        }
        guard CopyUpProbe.JobsMode(rawValue: jobsMode) != nil else {
            throw ValidationError("--jobs-mode must be distinct or same (got \(jobsMode))")
        }
        guard !sizes.isEmpty else { throw ValidationError("--sizes is empty") }
        _ = try OptionValues.sizes(sizes, "--sizes")
        try OptionValues.check(layers, "--layers", in: 1...LayerStackSpec.maximumLayers)
        if jobs != nil && options.settle != "0" { throw ValidationError("--settle applies to single-threaded trials, not --jobs") }
    }

    func run() throws {
        var configuration = CopyUpProbe.Configuration()
        configuration.sizes = try ByteCount.parseList(sizes)
        configuration.layers = layers
        configuration.control = control
        configuration.trigger = try CopyUpTrigger.parse(trigger)
        configuration.sparse = sparse
        configuration.jobs = jobs
        configuration.jobsMode = CopyUpProbe.JobsMode(rawValue: jobsMode) ?? .distinct
        let workload = try image.load()
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            if let workload { return try workload.copyUpProbe(sampleFiles: imageSample.sampleFiles, control: control, options: options, fs: fs, log: log) }
            var configuration = configuration
            configuration.sampling = try options.samplingPlan(fs: fs)
            return CopyUpProbe(configuration: configuration, backends: try options.variants(), log: log)
        })
    }
}

/// What every `run` subcommand does around its probe: the session, signals, teardown, the
/// result file and the table.
struct ProbeRunner {
    let options: RunOptions
    /// False for probes that use no overlay backend (the copy engines).
    var requireBackends = true

    /// Runs the probe `make` builds once per `--fs` filesystem (it is given the filesystem's
    /// name and the session's log), after checking the space each run needs.
    func run(eachFilesystem make: (_ fs: String, _ log: ProgressLog) throws -> any Probe) throws {
        let kinds = try options.filesystems()
        let size = try options.filesystemSize()
        try run { session in
            try session.repeating(options.repeat) {
                try session.forEachFilesystem(kinds, size: size) { kind, directory in
                    let probe = try make(kind.rawValue, session.log)
                    // Every repeat generates its own trees: the whole plan again.
                    let place = options.repeat > 1 ? directory + "/repeat-\(session.book.currentRepeat + 1)" : directory
                    if place != directory { try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755) }
                    try session.checkSpace(probe.estimatedBytes(), in: place)
                    try probe.run(in: place, book: session.book, mounts: &session.mounts)
                    if place != directory { try? session.workRoot.remove(place) }
                }
            }
        }
    }

    func run(_ probe: (RunSession) throws -> Void) throws {
        // Refused before anything runs, rather than after an hour of samples: an --out that
        // exists (without --force), or whose directory is missing (it is never created).
        if let out = options.out {
            try AtomicFile.checkWritable(out, overwrite: options.force)
            try AtomicFile.checkWritable(Exporters.csvPath(beside: out), overwrite: true)
        }
        if options.rootless { try Rootless.enterUserNamespace() }
        let log = ProgressLog(level: options.quiet ? .quiet : .normal)
        for backend in try options.backends() where requireBackends {
            if case .unavailable(let why) = backend.availability() { throw BackendError.unavailable(backend.identifier, why) }
        }
        SignalTrap.install()
        let session = try RunSession(workRootPath: options.workRoot, commandLine: CommandLine.arguments, log: log)
        session.keepTrees = options.keep
        var failure: (any Error)?
        do {
            try probe(session)
        } catch {
            failure = error
        }
        session.tearDown()
        if let caught = SignalTrap.caught, !(failure is Interrupted) { failure = Interrupted(signal: caught) }
        let result = session.result(stoppedBy: failure)
        try emit(result, log: log)
        if let failure { throw failure }
    }

    private func emit(_ result: ResultFile, log: ProgressLog) throws {
        if let out = options.out {
            try result.write(to: out, overwrite: true)
            try AtomicFile.write(Exporters.csv(result.measurements), to: Exporters.csvPath(beside: out), overwrite: true)
            log.info("wrote \(out)\(result.incomplete ? " (incomplete: \(result.stopReason ?? ""))" : "")")
        }
        if options.json {
            FileHandle.standardOutput.write(try result.encoded() + Data("\n".utf8))
        } else if !result.measurements.isEmpty {
            print(ResultTable.render(result.measurements, wide: options.wide), terminator: "")
        }
    }
}

extension RunSession {
    /// Runs `body` `count` times, each a repeat of the whole plan that the book tags its samples with.
    func repeating(_ count: Int, _ body: () throws -> Void) throws {
        book.plannedRepeats = count
        for index in 0..<count {
            try SignalTrap.check()
            book.currentRepeat = index
            if count > 1 { log.info("repeat \(index + 1) of \(count)") }
            try body()
        }
    }

    /// Refuses before generating when the work root lacks the space the run needs.
    func checkSpace(_ needed: Int64) throws {
        let free = try Host.freeSpace(at: runDirectory).bytes
        if needed > free { throw WorkloadError.insufficientSpace(needed: needed, available: free, path: runDirectory) }
        log.info("this run needs about \(ByteCount.format(needed)) in \(workRoot.path) (\(ByteCount.format(free)) free)")
    }
}
