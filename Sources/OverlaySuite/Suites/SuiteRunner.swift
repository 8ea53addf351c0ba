import Foundation
import OverlayCore
import OverlaySystem

/// Runs every entry of a ``SuiteFile`` in one ``RunSession``, so that all measurements land in
/// one result file: each entry on each of its filesystems, with its backends × option sets
/// interleaved as one probe run.
public struct SuiteRunner {
    public let suite: SuiteFile
    public let session: RunSession

    public init(suite: SuiteFile, session: RunSession) {
        self.suite = suite
        self.session = session
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
        for (number, entry) in suite.probes.enumerated() {
            for kind in try filesystems(entry) {
                try SignalTrap.check()
                let directory = try session.directory(for: kind, size: size)
                session.log.info("suite \(suite.name): entry \(number + 1)/\(suite.probes.count) \(entry.probe) on \(kind.rawValue)")
                // Each entry × filesystem gets its own directory, so names never collide.
                let place = directory + "/suite-\(number + 1)"
                try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755)
                try run(entry, fs: kind, in: place)
                // Free the space (and inodes) before the next entry: trees are not reused.
                try? session.workRoot.remove(place)
            }
        }
    }

    private func run(_ entry: SuiteFile.Entry, fs: BackingFilesystemKind, in directory: String) throws {
        let caches = try CacheState.parseList((entry.caches ?? ["warm"]).joined(separator: ","))
        let seed = UInt64(entry.seed ?? 1)
        switch entry.probe {
        case "copyup":
            var configuration = CopyUpProbe.Configuration()
            if let sizes = entry.sizes { configuration.sizes = try sizes.map { try ByteCount.parse($0) } }
            configuration.samples = entry.samples ?? configuration.samples
            configuration.warmup = entry.warmup ?? configuration.warmup
            configuration.caches = caches
            configuration.layers = entry.layers ?? 1
            configuration.seed = seed
            configuration.fs = fs.rawValue
            let probe = CopyUpProbe(configuration: configuration, backends: try backends(entry), log: session.log)
            try checkSpace(probe.estimatedBytes(), in: directory)
            try probe.run(in: directory, book: session.book, mounts: &session.mounts)
        case "lookup":
            var configuration = LookupProbe.Configuration()
            if let depths = entry.depths { configuration.depths = depths }
            configuration.samples = entry.samples ?? configuration.samples
            configuration.warmup = entry.warmup ?? configuration.warmup
            configuration.caches = caches
            configuration.seed = seed
            if let widths = entry.widths { configuration.widths = widths }
            if let readdir = entry.readdir { configuration.readdir = readdir }
            if let levels = entry.deepLevels { configuration.deepLevels = levels }
            configuration.fs = fs.rawValue
            let probe = LookupProbe(configuration: configuration, backends: try backends(entry), log: session.log)
            try checkSpace(probe.estimatedBytes(), in: directory)
            try probe.run(in: directory, book: session.book, mounts: &session.mounts)
        case "read":
            let sizes = try (entry.sizes ?? ["64MiB"]).map { try ByteCount.parse($0) }
            for (index, size) in sizes.enumerated() {
                for depth in entry.depths ?? [4] {
                    var configuration = ReadProbe.Configuration()
                    configuration.size = size
                    configuration.depth = depth
                    configuration.samples = entry.samples ?? configuration.samples
                    configuration.warmup = entry.warmup ?? configuration.warmup
                    configuration.caches = caches
                    configuration.randomReads = entry.randomReads ?? configuration.randomReads
                    configuration.seed = seed
                    configuration.fs = fs.rawValue
                    let place = directory + "/read-\(index)-d\(depth)"
                    try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755)
                    let probe = ReadProbe(configuration: configuration, backends: try backends(entry), log: session.log)
                    try checkSpace(probe.estimatedBytes(), in: place)
                    try probe.run(in: place, book: session.book, mounts: &session.mounts)
                }
            }
        case "copy":
            var configuration = CopyProbe.Configuration()
            if let engines = entry.engines { configuration.engines = engines }
            if let sizes = entry.sizes { configuration.sizes = try sizes.map { try ByteCount.parse($0) } }
            configuration.samples = entry.samples ?? configuration.samples
            configuration.warmup = entry.warmup ?? configuration.warmup
            configuration.caches = caches
            configuration.sparse = entry.sparse ?? false
            configuration.fsync = entry.fsync ?? false
            configuration.ioURing = CopyTuning.load()?.options ?? IOURingCopyOptions()
            configuration.seed = seed
            configuration.fs = fs.rawValue
            let probe = CopyProbe(configuration: configuration, log: session.log)
            try checkSpace(probe.estimatedBytes(), in: directory)
            try probe.run(in: directory, book: session.book)
        default:
            throw ProbeError.invalidArgument("probe", "\(entry.probe) is not a probe")
        }
    }

    /// The entry's backends × option sets (fuse and plain get only the defaults).
    func backends(_ entry: SuiteFile.Entry) throws -> [any OverlayBackend] {
        let bases = try (entry.backends ?? ["kernel"]).map { try BackendRegistry.make($0) }
        let sets = try (entry.mountOptions ?? [""]).map { try OverlayMountOptions(parsing: $0) }
        return MountVariantBackend.expand(bases, optionSets: sets)
    }

    func filesystems(_ entry: SuiteFile.Entry) throws -> [BackingFilesystemKind] {
        try BackingFilesystemKind.parseList((entry.filesystems ?? ["root"]).joined(separator: ","))
    }

    private func checkSpace(_ needed: Int64, in directory: String) throws {
        let free = try Host.freeSpace(at: directory).bytes
        if needed > free { throw WorkloadError.insufficientSpace(needed: needed, available: free, path: directory) }
    }
}
