import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

struct ChooseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "choose",
        abstract: "Rank storage drivers, mount options and backing filesystems on a workload profile.",
        discussion: """
            Profiles: database (large files, random 4 KiB writes), build (many small files created \
            and deleted), webapp (reads across a deep image), chown-r (a metadata storm). Each \
            profile's trace runs on a fresh container layer for every variant (backend × mount \
            option set) on every --fs, interleaved; a small copy-up and lookup sweep per variant \
            gives the copy-up fixed and per-MiB cost and the lookup slope. Bring your own workload \
            with --trace FILE (replay JSON Lines) and --tree DIR[:DIR…] (lower layers, top-first). \
            Writes the result file, report.md/report.html (all measurements, models, plots) and \
            choose.md/choose.html (the rankings) into --report.
            """)

    @Option(name: .long, help: "Comma-separated profiles: \(WorkloadProfile.builtInNames.joined(separator: ", ")).")
    var profile: String = WorkloadProfile.builtInNames.joined(separator: ",")

    @Option(name: .long, help: "Your own trace (replay JSON Lines) instead of the built-in profiles.")
    var trace: String?

    @Option(name: .long, help: "With --trace: the image's lower directories, top-first, separated by ':' (default: an empty layer).")
    var tree: String?

    @OptionGroup var image: ImageOptions

    @Option(name: .long, help: "Comma-separated backends.")
    var backend: String = "kernel,fuse,plain,reference"

    @Option(name: .long, help: "Mount option sets for kernel and reference, separated by ';' (empty: the defaults).")
    var mountOptions: String = ";volatile;metacopy=on;index=on;redirect_dir=on"

    @Option(name: .long, help: "Comma-separated backing filesystems: \(BackingFilesystemKind.allNames.joined(separator: ", ")).")
    var fs: String = "root"

    @Option(name: .long, parsing: .unconditional, help: "Size of each filesystem made for --fs.")
    var fsSize: String = "16GiB"

    @Option(name: .long, parsing: .unconditional, help: "Repetitions of each trace per variant.")
    var samples: Int = 3

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated copy-up sweep sizes (empty: no sweep).")
    var copyUpSizes: String = "0,1MiB,16MiB,64MiB"

    @Option(name: .long, parsing: .unconditional, help: "Comma-separated lookup sweep depths (empty: no sweep).")
    var lookupDepths: String = "1,8,32"

    @Option(name: .long, help: "Where trees, mounts and loop images live.")
    var workRoot: String = WorkRoot.defaultPath

    @Option(name: .long, help: "The directory for the reports (and the result file unless --out).")
    var report: String = "choose-report"

    @Option(name: .long, help: "The result file (default: <report>/choose.json).")
    var out: String?

    @Option(name: .long, parsing: .unconditional, help: "Seed for the generated images and traces.")
    var seed: UInt64 = 1

    func validate() throws {
        try OptionValues.check(samples, "--samples", in: 1...OptionValues.maximumSamples)
        _ = try OptionValues.size(fsSize, "--fs-size", minimum: 300 << 20, why: "btrfs and xfs need room for their logs")
        _ = try OptionValues.sizes(copyUpSizes, "--copy-up-sizes")
        _ = try OptionValues.integers(lookupDepths, "--lookup-depths", in: 1...LayerStackSpec.maximumLayers)
        do {
            _ = try BackingFilesystemKind.parseList(fs)
            _ = try RunOptions.parseOptionSets(mountOptions)
            _ = try backends()
            if trace == nil { _ = try profiles() }
        } catch {
            throw ValidationError("\(error)")
        }
        if tree != nil && trace == nil { throw ValidationError("--tree needs --trace") }
        if tree != nil && image.image != nil { throw ValidationError("--tree and --image both give the lower layers: use one") }
    }

    func backends() throws -> [any OverlayBackend] {
        let bases = try backend.split(separator: ",").map { try BackendKind.make(identifier: String($0)) }
        return MountVariantBackend.expand(bases, optionSets: try RunOptions.parseOptionSets(mountOptions))
    }

    func profiles() throws -> [WorkloadProfile] {
        if let trace {
            let operations = try ReplayTrace.load(trace)
            let lowers = try image.load()?.lowerPaths ?? tree.map { try $0.split(separator: ":").map { try FileSystem.absolute(String($0)) } }
            return [WorkloadProfile(
                name: ((trace as NSString).lastPathComponent as NSString).deletingPathExtension,
                summary: "your trace \(trace)", spec: LayerStackSpec(layerCount: 1, seed: seed),
                lowerDirectories: lowers, operations: operations)]
        }
        if let workload = try image.load() {
            return try profile.split(separator: ",").map { try WorkloadProfile.onImage(String($0), workload, seed: seed) }
        }
        return try profile.split(separator: ",").map { try WorkloadProfile.builtIn(String($0), seed: seed) }
    }

    func run() throws {
        let chosenProfiles = try profiles()
        let resultPath = out ?? (report as NSString).appendingPathComponent("choose.json")
        // Refused before the runs rather than after them: the report directory is made one
        // level only, and the result file's directory must exist.
        try AtomicFile.makeDirectory(report)
        try AtomicFile.checkWritable(resultPath, overwrite: true)
        let variants = try backends()
        for variant in variants {
            if case .unavailable(let why) = variant.availability() { throw BackendError.unavailable(variant.identifier, why) }
        }
        var configuration = ChooseRunner.Configuration()
        configuration.profiles = chosenProfiles
        configuration.filesystems = try BackingFilesystemKind.parseList(fs)
        configuration.filesystemSize = try ByteCount.parse(fsSize)
        configuration.samples = samples
        configuration.copyUpSizes = try ByteCount.parseList(copyUpSizes)
        configuration.lookupDepths = try LookupCommand.parseInts(lookupDepths, "--lookup-depths")

        SignalTrap.install()
        let log = ProgressLog()
        let session = try RunSession(workRootPath: workRoot, commandLine: CommandLine.arguments, log: log)
        var failure: (any Error)?
        var rankings: [(profile: WorkloadProfile, rows: [ChooseRunner.Row])] = []
        do {
            rankings = try ChooseRunner(configuration: configuration, variants: variants, session: session).run()
        } catch {
            failure = error
        }
        session.tearDown()
        if let caught = SignalTrap.caught, !(failure is Interrupted) { failure = Interrupted(signal: caught) }
        let result = session.result(stoppedBy: failure)
        try result.write(to: resultPath, overwrite: true)
        log.info("wrote \(resultPath)")
        if let failure { throw failure }

        print(ChooseReport.text(rankings), terminator: "")
        let document = ChooseReport.document(rankings, resultPath: resultPath)
        let markdown = (report as NSString).appendingPathComponent("choose.md")
        let html = (report as NSString).appendingPathComponent("choose.html")
        try AtomicFile.write(Data(document.markdown().utf8), to: markdown, overwrite: true)
        try AtomicFile.write(Data(document.html().utf8), to: html, overwrite: true)
        let outcome = try ReportWriter(inputs: [.init(path: resultPath, result: result)],
                                       options: .init(outDirectory: report)).write()
        for note in outcome.notes { log.warning(note) }
        print("\nwrote \(markdown), \(html), \(outcome.markdownPath), \(outcome.htmlPath)")
    }
}
