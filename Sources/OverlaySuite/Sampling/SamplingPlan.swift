import OverlayCore

/// How a probe samples, whichever probe it is: how many samples, from which cache states, in
/// what order, and what the machine is brought to before each timed call. The command line and
/// suite files set it; ``Sampler`` carries it out; every measurement records it.
public struct SamplingPlan: Sendable {
    /// Recorded samples per variant, each in its own round.
    public var samples: Int = 10
    /// Rounds taken first and discarded (package-benchmark's warm-up).
    public var warmup: Int = 1
    public var caches: [CacheState] = [.warm]
    /// Seed for the generated trees and content.
    public var seed: UInt64 = 1
    /// Seed of the order of the variants within each round, recorded as `parameters.shuffleSeed`;
    /// nil keeps the declared order (`parameters.order = declared`).
    public var shuffleSeed: UInt64? = 1
    /// Overlay mount options, where a probe mounts.
    public var mountOptions: OverlayMountOptions = .defaults
    /// The backing filesystem's name, recorded as `parameters.fs`.
    public var fs: String = BackingFilesystemKind.root.rawValue
    /// Whether to quiesce before each timed call: nil quiesces where the call writes.
    ///
    /// Quiescing is `syncfs(2)` on every filesystem the call touches (the upper's and the
    /// lowers', and the filesystem behind a loop device), then waiting until their block devices
    /// hold no request in flight. Without it a sample's fsync also waits for what earlier samples
    /// left dirty or in writeback, and for discards from deleted trees, so a figure depends on
    /// what ran before it. Recorded as `parameters.quiesce`.
    public var quiesce: Bool? = nil
    /// Idle time after quiescing and before the clock starts, in nanoseconds; 0 starts at once.
    ///
    /// It changes what is measured where work crosses threads. Back to back, a FUSE daemon's
    /// threads ran less than the scheduler's migration cost ago (`sched_migration_cost_ns`,
    /// 0.5 ms) and are woken where they last ran, on another CPU; after an idle millisecond
    /// they can be woken next to the caller. Recorded as `parameters.settleNs` when set.
    public var settleNanoseconds: UInt64 = 0
    /// Whether each sample's files leave the page cache after it (``Trial/release``): nil
    /// releases where the call writes. Recorded as `parameters.pages` (`released` or `kept`).
    ///
    /// Without it the page cache grows with every earlier sample and with the whole generated
    /// tree, and on a VM with free page reporting new page-cache pages then come from memory the
    /// host must fault in again: a 1 MiB first write in a sweep up to 64 MiB took 1.5–2× as long
    /// as the same write measured alone, and the control with it.
    public var releasePages: Bool? = nil

    public init() {}

    /// Whether a call that does (or does not) write is quiesced before.
    func quiesces(writes: Bool) -> Bool { quiesce ?? writes }

    /// Whether a sample whose call does (or does not) write releases its pages after it.
    func releasesPages(writes: Bool) -> Bool { releasePages ?? writes }

    /// Rounds in all: warm-up, then recorded.
    var rounds: Int { warmup + samples }

    /// The parameters this plan adds to every sample of a call that `writes`, in `cache`.
    func parameters(cache: CacheState, writes: Bool) -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [
            "cache": .string(cache.rawValue), "fs": .string(fs),
            "quiesce": .bool(quiesces(writes: writes)),
            "pages": .string(releasesPages(writes: writes) ? "released" : "kept"),
        ]
        if let shuffleSeed { parameters["shuffleSeed"] = .int(Int64(bitPattern: shuffleSeed)) } else { parameters["order"] = "declared" }
        if cache == .cold { parameters["coldMethod"] = .string(ColdCache.method) }
        if settleNanoseconds > 0 { parameters["settleNs"] = .int(Int64(settleNanoseconds)) }
        return parameters
    }
}
