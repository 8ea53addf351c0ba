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
            of the suite into one result file. A suite file that does not decode exits 65 with the \
            key and line at fault.
            """,
        subcommands: [SuiteRunCommand.self, CopyUpCommand.self, CopyCommand.self, LookupCommand.self, ReadCommand.self, MetadataCommand.self],
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

    func run() throws {
        let file: SuiteFile
        do {
            file = try SuiteFile.load(suite)
        } catch {
            FileHandle.standardError.write(Data("overlaybench: error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.dataError)
        }
        var arguments = ["--work-root", workRoot]
        if let out { arguments += ["--out", out] }
        for (flag, on) in [("--force", force), ("--json", json), ("--keep", keep), ("--quiet", quiet)] where on {
            arguments.append(flag)
        }
        let options = try RunOptions.parse(arguments)
        try ProbeRunner(options: options, requireBackends: false).run { session in
            let runner = SuiteRunner(suite: file, session: session)
            try runner.validate()
            try runner.run()
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

    @Option(name: .long, help: "Comma-separated sizes with units (0,4KiB,64KiB,1MiB,16MiB,64MiB,256MiB).")
    var sizes: String = "0,4KiB,64KiB,1MiB,16MiB,64MiB,256MiB"

    @Option(name: .long, help: "Lower layers in the stack (1-500); the files are in the top one.")
    var layers: Int = 1

    @Option(name: .long, help: "The call that copies up: \(CopyUpTrigger.allCases.map(\.rawValue).joined(separator: "|")).")
    var trigger: String = CopyUpTrigger.write.rawValue

    @Flag(name: .long, help: "Lower files with a hole in every other 1 MiB chunk.")
    var sparse = false

    @Option(name: .long, help: "Threads first-writing at once (with --trigger write).")
    var jobs: Int?

    @Option(name: .long, help: "With --jobs: distinct (a file per thread) or same (all threads race on one file).")
    var jobsMode: String = CopyUpProbe.JobsMode.distinct.rawValue

    @Option(name: .long, help: "Idle time before each timed call, with a unit (500us, 2ms; 0 = back to back). Where a backend hands work to other threads (fuse), an idle millisecond lets the scheduler wake them next to the caller.")
    var settle: String = "0"

    func validate() throws {
        do {
            let parsed = try CopyUpTrigger.parse(trigger)
            if jobs != nil && parsed != .write { throw ValidationError("--jobs times first writes: it needs --trigger write") }
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1 (got \(jobs))") }
        guard CopyUpProbe.JobsMode(rawValue: jobsMode) != nil else {
            throw ValidationError("--jobs-mode must be distinct or same (got \(jobsMode))")
        }
        do {
            let parsed = try ByteCount.parseList(sizes)
            if let negative = parsed.first(where: { $0 < 0 }) { throw ValidationError("--sizes: \(negative) is negative") }
        } catch let error as ByteCountError {
            throw ValidationError("--sizes: \(error)")
        }
        guard (1...LayerStackSpec.maximumLayers).contains(layers) else {
            throw ValidationError("--layers must be in 1...\(LayerStackSpec.maximumLayers) (got \(layers))")
        }
        guard let settleNanoseconds = Self.nanoseconds(settle), settleNanoseconds <= 10_000_000_000 else {
            throw ValidationError("--settle must be a duration from 0 to 10s with a unit: ns, us, ms or s (got \(settle))")
        }
        if jobs != nil && settleNanoseconds > 0 { throw ValidationError("--settle applies to single-threaded passes, not --jobs") }
    }

    /// `1500ns`, `500us` (or `µs`), `2ms`, `1s`, or `0`; nil if malformed or negative.
    static func nanoseconds(_ text: String) -> UInt64? {
        let units: [(suffix: String, scale: Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        if text == "0" { return 0 }
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }),
              let value = Double(text.dropLast(unit.suffix.count)), value >= 0, value.isFinite else { return nil }
        return UInt64((value * unit.scale).rounded())
    }

    func run() throws {
        var configuration = CopyUpProbe.Configuration()
        configuration.settleNanoseconds = Self.nanoseconds(settle) ?? 0
        configuration.sizes = try ByteCount.parseList(sizes)
        configuration.samples = options.samples
        configuration.warmup = options.warmup
        configuration.caches = try CacheState.parseList(options.cache)
        configuration.layers = layers
        configuration.seed = options.seed
        configuration.trigger = try CopyUpTrigger.parse(trigger)
        configuration.sparse = sparse
        configuration.jobs = jobs
        configuration.jobsMode = CopyUpProbe.JobsMode(rawValue: jobsMode) ?? .distinct
        let workload = try image.load()
        try ProbeRunner(options: options).run(eachFilesystem: { fs, log in
            if let workload { return try workload.copyUpProbe(sampleFiles: imageSample.sampleFiles, options: options, fs: fs, log: log) }
            var configuration = configuration
            configuration.fs = fs
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
            try session.forEachFilesystem(kinds, size: size) { kind, directory in
                let probe = try make(kind.rawValue, session.log)
                try session.checkSpace(probe.estimatedBytes(), in: directory)
                try probe.run(in: directory, book: session.book, mounts: &session.mounts)
            }
        }
    }

    func run(_ probe: (RunSession) throws -> Void) throws {
        try ExitStatus.reporting {
            if options.rootless { try Rootless.enterUserNamespace() }
            let log = ProgressLog(level: options.quiet ? .quiet : .normal)
            for backend in try options.backends() where requireBackends {
                if case .unavailable(let why) = backend.availability() { throw BackendError.unavailable(backend.identifier, why) }
            }
            if let out = options.out, !options.force, FileManager.default.fileExists(atPath: out) {
                throw ResultFileError.exists(out)
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
    }

    private func emit(_ result: ResultFile, log: ProgressLog) throws {
        if let out = options.out {
            try result.write(to: out, overwrite: true)
            try AtomicFile.write(Data(Exporters.csv(result.measurements).utf8), to: Exporters.csvPath(beside: out), overwrite: true)
            log.info("wrote \(out)\(result.incomplete ? " (incomplete: \(result.stopReason ?? ""))" : "")")
        }
        if options.json {
            FileHandle.standardOutput.write(try result.encoded() + Data("\n".utf8))
        } else if !result.measurements.isEmpty {
            print(ResultTable.render(result.measurements), terminator: "")
        }
    }
}

extension RunSession {
    /// Refuses before generating when the work root lacks the space the run needs.
    func checkSpace(_ needed: Int64) throws {
        let free = try Host.freeSpace(at: runDirectory).bytes
        if needed > free { throw WorkloadError.insufficientSpace(needed: needed, available: free, path: runDirectory) }
        log.info("this run needs about \(ByteCount.format(needed)) in \(workRoot.path) (\(ByteCount.format(free)) free)")
    }
}
