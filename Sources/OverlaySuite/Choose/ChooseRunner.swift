import Foundation
import OverlayCore
import OverlayStatistics
import OverlaySystem

/// `overlaybench choose`: runs each workload profile's trace on every driver variant (backend ×
/// mount options) and backing filesystem, adds a small copy-up and lookup sweep per variant for
/// the cost model, and ranks the variants per profile.
///
/// The image of a profile is generated once per filesystem and shared, read-only, as the lower
/// layers of every variant; each repetition gets a fresh upper and work directory, so every
/// trace starts from a clean container layer. Variants are interleaved repetition by repetition.
public struct ChooseRunner {
    public struct Configuration: Sendable {
        public var profiles: [WorkloadProfile] = []
        public var filesystems: [BackingFilesystemKind] = [.root]
        public var filesystemSize: Int64 = BackingFilesystemKind.defaultSize
        /// Repetitions of each trace (after `warmup` discarded ones).
        public var samples = 3
        public var warmup = 1
        /// The seed of each repetition's shuffled variant order; nil runs them in declared order.
        public var shuffleSeed: UInt64? = 1
        /// The copy-up sweep for the fixed and per-MiB cost (empty: none).
        public var copyUpSizes: [Int64] = [0, 1 << 20, 16 << 20, 64 << 20]
        public var sweepSamples = 3
        /// The lookup sweep for the per-layer slope (empty: none).
        public var lookupDepths: [Int] = [1, 8, 32]
        public init() {}
    }

    /// One variant's line in a profile's ranking.
    public struct Row: Sendable {
        public var rank = 0
        public var backend: String
        public var mountOptions: String
        public var fs: String
        /// Median wall time of the whole trace, ns.
        public var traceNanoseconds: Double
        /// Every repetition's wall time, ns: what the ranking's interval against the fastest is from.
        public var traceSamples: [Double] = []
        public var failedOperations: Int
        /// What the failed operations met (an errno name, or "ok" where the trace expected an
        /// error), with how many met it, most common first.
        public var failures: [(outcome: String, count: Int)] = []
        public var upperBytes: Int64
        public var upperInodes: Int
        public var copyUpFixedMicroseconds: Double?
        public var copyUpMicrosecondsPerMiB: Double?
        public var lookupNanosecondsPerLayer: Double?
        public var reason = ""
        /// Why this variant did not run on this filesystem (what it needs that the filesystem
        /// lacks); such a row is listed after the ranked ones, without a rank.
        public var notRun: String?

        public var variantLabel: String { "\(backend)\(mountOptions.isEmpty ? "" : " (\(mountOptions))") on \(fs)" }
    }

    public static let name = "choose"

    public let configuration: Configuration
    public let variants: [any OverlayBackend]
    public let session: RunSession

    public init(configuration: Configuration, variants: [any OverlayBackend], session: RunSession) {
        self.configuration = configuration
        self.variants = variants
        self.session = session
    }

    static func options(of backend: any OverlayBackend) -> String {
        (backend as? MountVariantBackend)?.options.description ?? ""
    }

    /// Runs everything and returns the ranking per profile, in profile order.
    public func run() throws -> [(profile: WorkloadProfile, rows: [Row])] {
        var traces: [String: [RowKey: TraceOutcome]] = [:]
        var notRun: [RowKey: String] = [:]
        for kind in configuration.filesystems {
            try SignalTrap.check()
            let directory = try session.directory(for: kind, size: configuration.filesystemSize)
            var runnable: [(index: Int, variant: any OverlayBackend)] = []
            for (index, variant) in variants.enumerated() {
                if let why = Self.unmetNeed(variant, fs: kind, directory: directory) {
                    notRun[RowKey(backend: variant.identifier, mountOptions: Self.options(of: variant), fs: kind.rawValue)] = why
                    session.log.info("not running \(variant.identifier) on \(kind.rawValue): \(why)")
                } else {
                    runnable.append((index, variant))
                }
            }
            for profile in configuration.profiles {
                let outcomes = try runTrace(profile, variants: runnable, fs: kind, in: directory)
                traces[profile.name, default: [:]].merge(outcomes) { $1 }
            }
            try sweeps(runnable.map(\.variant), fs: kind, in: directory)
        }
        let model = CapacityModel(measurements: session.book.measurements())
        let slopes = lookupSlopes(session.book.measurements())
        return configuration.profiles.map { profile in
            var rows: [Row] = []
            for (key, outcome) in traces[profile.name] ?? [:] {
                let cost = model.copyUp.first {
                    $0.backend == key.backend && $0.mountOptions == key.mountOptions && $0.fs == key.fs && $0.cache == "warm"
                }
                rows.append(Row(
                    backend: key.backend, mountOptions: key.mountOptions, fs: key.fs,
                    traceNanoseconds: Self.median(outcome.times), traceSamples: outcome.times, failedOperations: outcome.failures,
                    failures: outcome.failureOutcomes,
                    upperBytes: outcome.upperBytes, upperInodes: outcome.upperInodes,
                    copyUpFixedMicroseconds: cost?.fixedMicroseconds, copyUpMicrosecondsPerMiB: cost?.microsecondsPerMiB,
                    lookupNanosecondsPerLayer: slopes[key]))
            }
            let unranked = notRun.sorted { ($0.key.fs, $0.key.backend, $0.key.mountOptions) < ($1.key.fs, $1.key.backend, $1.key.mountOptions) }
                .map { key, why in
                    Row(backend: key.backend, mountOptions: key.mountOptions, fs: key.fs, traceNanoseconds: .nan, failedOperations: 0,
                        upperBytes: 0, upperInodes: 0, reason: "not run: " + why, notRun: why)
                }
            return (profile, ChooseRanking.rank(rows, profile: profile.name) + unranked)
        }
    }

    /// What `variant` needs of the filesystem at `directory` (`fs`) that it lacks, or nil: a
    /// backend that declares a backing filesystem (btrfs snapshots need btrfs) runs only there.
    static func unmetNeed(_ variant: any OverlayBackend, fs: BackingFilesystemKind, directory: String) -> String? {
        guard let needed = variant.capabilities.backingFilesystem, let type = needed.fileSystemType else { return nil }
        let here = MountTable.current().backingMount(of: directory)?.fileSystemType
        guard here != type else { return nil }
        return "\(variant.identifier) needs its layers on \(type), and --fs \(fs.rawValue) is \(here ?? "an unknown filesystem"); it is ranked on --fs \(needed.rawValue)"
    }

    struct RowKey: Hashable {
        var backend: String
        var mountOptions: String
        var fs: String
    }

    struct TraceOutcome {
        var times: [Double] = []
        var failures = 0
        var failureOutcomes: [(outcome: String, count: Int)] = []
        var upperBytes: Int64 = 0
        var upperInodes = 0
    }

    /// Generates the profile's image once on `fs`, then runs the trace on every variant,
    /// interleaved, each repetition on a fresh upper layer.
    private func runTrace(
        _ profile: WorkloadProfile, variants: [(index: Int, variant: any OverlayBackend)], fs: BackingFilesystemKind, in directory: String
    ) throws -> [RowKey: TraceOutcome] {
        let cwd = FileDescriptor.currentWorkingDirectory
        let place = directory + "/choose-\(profile.name)"
        try cwd.makeDirectory(place, mode: 0o755)
        let lowers: [String]
        if let given = profile.lowerDirectories {
            lowers = given
        } else {
            session.log.info("generating the \(profile.name) image (\(profile.spec.layerCount) layers, \(profile.spec.files.count) files) on \(fs.rawValue)")
            try cwd.makeDirectory(place + "/image", mode: 0o755)
            lowers = try LayerStackBuilder(spec: profile.spec).build(in: place + "/image").lowerPaths
        }
        var outcomes: [RowKey: TraceOutcome] = [:]
        let total = configuration.samples + configuration.warmup
        // What the previous trace left dirty (its writes, the removal of its layer) is written
        // back before the next one starts, and the variants run in a seeded shuffled order per
        // repetition, so no variant always follows the same one.
        let quiescer = try Quiescer(paths: [place] + lowers)
        var order = variants
        var generator = configuration.shuffleSeed.map { SeededGenerator(seed: $0) }
        for repetition in 0..<total {
            if generator != nil { Sampler.shuffle(&order, using: &generator!) }
            for (index, variant) in order {
                try SignalTrap.check()
                let key = RowKey(backend: variant.identifier, mountOptions: Self.options(of: variant), fs: fs.rawValue)
                let layer = place + "/c\(repetition)-\(index)"
                try cwd.makeDirectory(layer, mode: 0o755)
                try cwd.makeDirectory(layer + "/upper", mode: 0o755)
                try cwd.makeDirectory(layer + "/work", mode: 0o700)
                try cwd.makeDirectory(layer + "/scratch", mode: 0o700)
                let stack = try LayerStack.adopting(lower: lowers, upper: layer + "/upper", work: layer + "/work", scratch: layer + "/scratch")
                let (elapsed, failures, upper) = try withMergedView(variant, stack, options: .defaults) { view in
                    if repetition == 0 {
                        session.mounts.append(.init(backend: view.backend, probe: Self.name, requestedOptions: key.mountOptions,
                                                    effectiveOptions: view.effectiveOptions, method: view.mountMethod,
                                                    layers: lowers.count, setup: view.setupFacts))
                    }
                    let inner = (view as? VariantMergedView)?.inner ?? view
                    let executor = ReplayExecutor(target: makeReplayTarget(for: inner))
                    var results: [String] = []
                    results.reserveCapacity(profile.operations.count)
                    try quiescer.quiesce()
                    let start = MonotonicClock.now()
                    for operation in profile.operations { results.append(executor.run(operation)) }
                    let elapsed = MonotonicClock.now() - start
                    let failures = Self.failures(results, expected: profile.expectedErrors)
                    // An adopted stack reaches its upper through a symlink; count the real directory.
                    return (elapsed, failures, (try? Footprint.measure((try? Host.realPath(view.upperPath)) ?? view.upperPath)) ?? Footprint())
                }
                if repetition >= configuration.warmup {
                    outcomes[key, default: TraceOutcome()].times.append(Double(elapsed))
                    outcomes[key]!.failures = failures.map(\.count).reduce(0, +)
                    outcomes[key]!.failureOutcomes = failures
                    outcomes[key]!.upperBytes = upper.bytes
                    outcomes[key]!.upperInodes = upper.inodes
                    var parameters: [String: ParameterValue] = [
                        "profile": .string(profile.name), "fs": .string(fs.rawValue),
                        "mountOptions": .string(key.mountOptions), "operations": .int(Int64(profile.operations.count)),
                        "quiesce": .bool(true),
                    ]
                    parameters["shuffleSeed"] = configuration.shuffleSeed.map { .int(Int64(bitPattern: $0)) } ?? .string("none")
                    let book = session.book
                    book.record(Double(elapsed), for: .init(probe: Self.name, backend: key.backend, metric: "trace", unit: "ns", parameters: parameters))
                    book.record(Double(upper.bytes), for: .init(probe: Self.name, backend: key.backend, metric: "upperBytes", unit: "bytes", parameters: parameters))
                    book.record(Double(upper.inodes), for: .init(probe: Self.name, backend: key.backend, metric: "upperInodes", unit: "inodes", parameters: parameters))
                    book.record(Double(outcomes[key]!.failures), for: .init(probe: Self.name, backend: key.backend, metric: "failedOperations", unit: "operations", parameters: parameters))
                }
                try session.workRoot.remove(layer)
            }
            session.log.progress("choose \(profile.name) on \(fs.rawValue)", done: repetition + 1, of: total)
        }
        try? session.workRoot.remove(place)
        return outcomes
    }

    /// The operations whose outcome is not the one the trace means (success, or the expected
    /// errno), grouped by what they met, most common first.
    static func failures(_ results: [String], expected: [Int: String]) -> [(outcome: String, count: Int)] {
        var counts: [String: Int] = [:]
        for (index, result) in results.enumerated() {
            let outcome = result.hasPrefix("ok") ? "ok" : String(result.prefix { $0 != " " })
            guard outcome != (expected[index] ?? "ok") else { continue }
            counts[outcome, default: 0] += 1
        }
        return counts.map { ($0.key, $0.value) }.sorted { ($0.count, $1.outcome) > ($1.count, $0.outcome) }
    }

    /// A copy-up sweep (for the fixed and per-MiB cost) and a lookup sweep (for the slope) per
    /// variant on `fs`. A variant a sweep cannot measure (one that is not layered has no
    /// copy-up; one without a merged directory has no mounted root for lookups) is left out.
    private func sweeps(_ variants: [any OverlayBackend], fs: BackingFilesystemKind, in directory: String) throws {
        let overlays = variants.filter { $0.capabilities.layered }
        if !configuration.copyUpSizes.isEmpty && !overlays.isEmpty {
            var copyUp = CopyUpProbe.Configuration()
            copyUp.sizes = configuration.copyUpSizes
            copyUp.sampling.samples = configuration.sweepSamples
            copyUp.sampling.fs = fs.rawValue
            let place = directory + "/choose-copyup"
            try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755)
            let probe = CopyUpProbe(configuration: copyUp, backends: overlays, log: session.log)
            // Refused before anything is written, as `run` refuses, not by ENOSPC minutes later.
            try session.checkSpace(probe.estimatedBytes(), in: place)
            try probe.run(in: place, book: session.book, mounts: &session.mounts)
            try? session.workRoot.remove(place)
        }
        // The in-process reference has no mounted root to statx through, so it has no lookup slope.
        let mounted = overlays.filter { $0.capabilities.mergedDirectory }
        if !configuration.lookupDepths.isEmpty && !mounted.isEmpty {
            var lookup = LookupProbe.Configuration()
            lookup.depths = configuration.lookupDepths
            lookup.sampling.samples = configuration.sweepSamples
            lookup.readdir = false
            lookup.widths = []
            lookup.sampling.fs = fs.rawValue
            let place = directory + "/choose-lookup"
            try FileDescriptor.currentWorkingDirectory.makeDirectory(place, mode: 0o755)
            let probe = LookupProbe(configuration: lookup, backends: mounted, log: session.log)
            try session.checkSpace(probe.estimatedBytes(), in: place)
            try probe.run(in: place, book: session.book, mounts: &session.mounts)
            try? session.workRoot.remove(place)
        }
    }

    /// The warm per-layer slope of a lookup of a name absent from every layer (the whole depth).
    private func lookupSlopes(_ measurements: [Measurement]) -> [RowKey: Double] {
        var result: [RowKey: Double] = [:]
        for m in measurements where m.probe == "lookup" && m.metric == "statSlope"
            && m.parameters["position"]?.stringValue == "negative" && m.parameters["cache"]?.stringValue == "warm" {
            let key = RowKey(backend: m.backend, mountOptions: m.parameters["mountOptions"]?.stringValue ?? "",
                             fs: m.parameters["fs"]?.stringValue ?? "root")
            if let slope = m.samples.first { result[key] = slope }
        }
        return result
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
