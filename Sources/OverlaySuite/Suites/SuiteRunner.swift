import Foundation
import OverlayCore
import OverlaySystem

/// Runs every entry of a ``SuiteFile`` in one ``RunSession``, so that all measurements land in
/// one result file: each entry on each of its filesystems, with its backends × option sets
/// interleaved as one probe run.
public struct SuiteRunner {
    public let suite: SuiteFile
    public let session: RunSession
    /// What the command line set for every entry (quiesce, settle, shuffle); entries override
    /// samples, warm-up, caches, seed and quiesce.
    public var defaults: SamplingPlan

    public init(suite: SuiteFile, session: RunSession, defaults: SamplingPlan = SamplingPlan()) {
        self.suite = suite
        self.session = session
        self.defaults = defaults
    }

    /// Checks what can be checked before anything is generated: backends, engines, options,
    /// and that every backend and filesystem is available here.
    public func validate() throws {
        for entry in suite.probes {
            for backend in try backends(entry) where entry.probe != "copy" {
                if case .unavailable(let why) = backend.availability() { throw BackendError.unavailable(backend.identifier, why) }
            }
            for kind in try filesystems(entry) {
                if case .unavailable(let why) = LoopFilesystem.availability(of: kind) {
                    throw BackingFilesystemError.unavailable(kind.rawValue, why)
                }
            }
        }
    }

    public func run() throws {
        let size = try suite.fsSize.map { try ByteCount.parse($0) } ?? BackingFilesystemKind.defaultSize
        var unresolved = 0
        var checked = 0
        defer {
            if checked > 0 {
                let summary = unresolved == 0
                    ? "all \(checked) measurement(s) with a threshold resolve it at their sample counts"
                    : "\(unresolved) of \(checked) measurement(s) cannot resolve their threshold at their sample counts; each says how many samples would"
                session.log.info("suite \(suite.name): \(summary)")
            }
        }
        for (number, entry) in suite.probes.enumerated() {
            for kind in try filesystems(entry) {
                try SignalTrap.check()
                let directory = try session.directory(for: kind, size: size)
                session.log.info("suite \(suite.name): entry \(number + 1)/\(suite.probes.count) \(entry.probe) on \(kind.rawValue)")
                // Each entry × filesystem gets its own directory, so names never collide.
                let place = directory + "/suite-\(number + 1)"
                try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755)
                let first = session.book.measurements().count
                try run(entry, fs: kind, in: place)
                if let threshold = entry.threshold ?? suite.threshold {
                    let found = checkResolution(of: session.book.measurements().dropFirst(first), threshold: threshold)
                    checked += found.checked
                    unresolved += found.unresolved
                }
                // Free the space (and inodes) before the next entry: trees are not reused.
                try? session.workRoot.remove(place)
            }
        }
    }

    /// Warns, with the measurement and on the log, about each measurement whose samples cannot
    /// resolve `threshold` (``ResolutionCheck``).
    func checkResolution(of measurements: ArraySlice<Measurement>, threshold: Double) -> (checked: Int, unresolved: Int) {
        var checked = 0
        var unresolved = 0
        for measurement in measurements where measurement.skipped == nil && measurement.samples.count > 1 {
            checked += 1
            guard let finding = ResolutionCheck.check(measurement, threshold: threshold) else { continue }
            unresolved += 1
            let key = SampleBook.Key(probe: measurement.probe, backend: measurement.backend, metric: measurement.metric,
                                     unit: measurement.unit, parameters: measurement.parameters)
            session.book.warn(finding.message, for: key)
            session.log.warning("\(measurement.probe) \(measurement.backend) \(measurement.metric) \(measurement.parameterLabel): \(finding.message)")
        }
        return (checked, unresolved)
    }

    /// The sampling plan of an entry on `fs`: the suite's own keys over the run's defaults.
    func plan(_ entry: SuiteFile.Entry, fs: BackingFilesystemKind) throws -> SamplingPlan {
        var plan = defaults
        plan.caches = try CacheState.parseList((entry.caches ?? ["warm"]).joined(separator: ","))
        plan.seed = UInt64(entry.seed ?? 1)
        plan.samples = entry.samples ?? plan.samples
        plan.warmup = entry.warmup ?? plan.warmup
        if let quiesce = entry.quiesce { plan.quiesce = quiesce }
        if let releasePages = entry.releasePages { plan.releasePages = releasePages }
        plan.fs = fs.rawValue
        return plan
    }

    private func run(_ entry: SuiteFile.Entry, fs: BackingFilesystemKind, in directory: String) throws {
        let plan = try plan(entry, fs: fs)
        let probes: [(place: String, probe: any Probe)]
        switch entry.probe {
        case "copyup":
            var configuration = CopyUpProbe.Configuration()
            configuration.sampling = plan
            if let sizes = entry.sizes { configuration.sizes = try sizes.map { try ByteCount.parse($0) } }
            configuration.layers = entry.layers ?? 1
            probes = [(directory, CopyUpProbe(configuration: configuration, backends: try backends(entry), log: session.log))]
        case "lookup":
            var configuration = LookupProbe.Configuration()
            configuration.sampling = plan
            if let depths = entry.depths { configuration.depths = depths }
            if let widths = entry.widths { configuration.widths = widths }
            if let readdir = entry.readdir { configuration.readdir = readdir }
            if let levels = entry.deepLevels { configuration.deepLevels = levels }
            probes = [(directory, LookupProbe(configuration: configuration, backends: try backends(entry), log: session.log))]
        case "read":
            var list: [(String, any Probe)] = []
            for (index, size) in try (entry.sizes ?? ["64MiB"]).map({ try ByteCount.parse($0) }).enumerated() {
                for depth in entry.depths ?? [4] {
                    var configuration = ReadProbe.Configuration()
                    configuration.sampling = plan
                    configuration.size = size
                    configuration.depth = depth
                    configuration.randomReads = entry.randomReads ?? configuration.randomReads
                    list.append((directory + "/read-\(index)-d\(depth)",
                                 ReadProbe(configuration: configuration, backends: try backends(entry), log: session.log)))
                }
            }
            probes = list
        case "copy":
            var configuration = CopyProbe.Configuration()
            configuration.sampling = plan
            if let engines = entry.engines { configuration.engines = engines }
            if let sizes = entry.sizes { configuration.sizes = try sizes.map { try ByteCount.parse($0) } }
            configuration.sparse = entry.sparse ?? false
            configuration.fsync = entry.fsync ?? false
            configuration.ioURing = CopyTuning.load()?.options ?? IOURingCopyOptions()
            probes = [(directory, CopyProbe(configuration: configuration, log: session.log))]
        case "metadata":
            var configuration = MetadataProbe.Configuration()
            configuration.sampling = plan
            if let operations = entry.operations { configuration.operations = try MetadataProbe.Operation.parseList(operations.joined(separator: ",")) }
            if let fileSize = entry.fileSize { configuration.fileSize = try ByteCount.parse(fileSize) }
            if let depths = entry.pathDepths { configuration.pathDepths = depths }
            configuration.layers = entry.layers ?? 1
            probes = [(directory, MetadataProbe(configuration: configuration, backends: try backends(entry), log: session.log))]
        case "shift":
            var configuration = ShiftProbe.Configuration()
            configuration.sampling = plan
            if let files = entry.files { configuration.files = files }
            if let fileSize = entry.fileSize { configuration.fileSize = try ByteCount.parse(fileSize) }
            if let methods = entry.methods { configuration.methods = try ShiftProbe.Method.parseList(methods.joined(separator: ",")) }
            if let shift = entry.uidShift { configuration.mapping.outside = UInt32(shift) }
            configuration.layers = entry.layers ?? configuration.layers
            // Its methods choose the overlay options; one set given applies to every method.
            if let sets = entry.mountOptions {
                guard sets.count == 1 else { throw ProbeError.invalidArgument("mountOptions", "a shift entry takes one option set, not \(sets.count)") }
                configuration.sampling.mountOptions = try OverlayMountOptions(parsing: sets[0])
            }
            let bases = try (entry.backends ?? ["kernel"]).map { try BackendKind.make(identifier: $0) }
            probes = [(directory, ShiftProbe(configuration: configuration, backends: bases, log: session.log))]
        default:
            throw ProbeError.invalidArgument("probe", "\(entry.probe) is not a probe")
        }
        for (place, probe) in probes {
            if place != directory { try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755) }
            try session.checkSpace(probe.estimatedBytes(), in: place)
            try probe.run(in: place, book: session.book, mounts: &session.mounts)
        }
    }

    /// The entry's backends × option sets (fuse and plain get only the defaults).
    func backends(_ entry: SuiteFile.Entry) throws -> [any OverlayBackend] {
        let bases = try (entry.backends ?? ["kernel"]).map { try BackendKind.make(identifier: $0) }
        let sets = try (entry.mountOptions ?? [""]).map { try OverlayMountOptions(parsing: $0) }
        return MountVariantBackend.expand(bases, optionSets: sets)
    }

    func filesystems(_ entry: SuiteFile.Entry) throws -> [BackingFilesystemKind] {
        try BackingFilesystemKind.parseList((entry.filesystems ?? ["root"]).joined(separator: ","))
    }
}
