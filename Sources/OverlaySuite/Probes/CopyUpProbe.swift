import OverlayCore
import OverlaySystem

/// First-write copy-up cost against file size.
///
/// For each size it places fresh lower-only files, mounts, and declares per file, to the
/// ``Sampler``:
/// - `firstWrite`: `open(O_WRONLY)`, `pwrite` of 1 byte at offset 0, `close` on the lower-only
///   file: the copy-up happens here;
/// - `secondWrite`: the same on the now-upper file, straight after (quiesced like the first);
/// - `open`: `open(O_WRONLY)` alone on another fresh lower file: overlay copies up at open time,
///   so this is the copy-up without the write;
/// - `control`: the same bytes copied without overlay on the upper's filesystem, as copy-up's
///   data phase does it: `open(O_CREAT|O_EXCL)`, `copy_file_range` of the whole lower file,
///   `fsync`, `close` (backend `-`). After the samples, `overhead` (ratio) is firstWrite ÷
///   control as a ratio of medians per backend, with a bootstrap interval in `ciLow`/`ciHigh`:
///   it travels between machines when absolute times do not.
/// All of these, for every size and backend, are one round's trials, shuffled within it.
/// Every sample is verified afterwards: the upper layer must hold a full-size copy whose bytes
/// match the lower file except the one written; a sample that did not copy up is an error,
/// never a data point.
///
/// Variations:
/// - `trigger` (``CopyUpTrigger``, `parameters.trigger`): another call in place of the write;
///   its metrics are `firstOp` and `secondOp`, and `open` and the control are left out.
///   Verification follows the call (a 0-byte upper after `trunc-open`, half the size after
///   `truncate`, and under `metacopy=on` a data-less metacopy upper after chmod, chown,
///   setxattr, link, rename).
/// - every first write also records `upperUnsharedBytes` and `upperSharedBytes` (bytes, from
///   FIEMAP): the new data the copy-up (or the btrfs snapshot's copy-on-write) allocated.
/// - `sparse` (`parameters.sparse`): lower files hold data in every other 1 MiB chunk; each
///   sample also records `upperAllocatedBytes` and `lowerAllocatedBytes` (bytes).
/// - `jobs` (`parameters.jobs`, `parameters.jobsMode`): N threads released together, in place of
///   the trials above (see `CopyUpProbe+Jobs.swift`).
/// After the samples, each view's upper and work directories are recorded (``Footprint``).
public struct CopyUpProbe {
    public struct Configuration: Sendable {
        public var sampling = SamplingPlan()
        public var sizes: [Int64] = CopyUpProbe.defaultSizes
        public var layers: Int = 1
        /// The call that copies up.
        public var trigger: CopyUpTrigger = .write
        /// Lower files with a hole in every other 1 MiB chunk.
        public var sparse = false
        /// Threads first-writing at once; nil runs the single-threaded trials.
        public var jobs: Int? = nil
        public var jobsMode: JobsMode = .distinct
        /// Time the `control` copy (and derive `overhead`) with `--trigger write`.
        public var control = true
        public init() {}
    }

    /// What the `jobs` threads write.
    public enum JobsMode: String, CaseIterable, Sendable {
        /// One distinct lower file per thread: copy-ups in parallel, as when many containers start.
        case distinct
        /// All threads on one lower file: overlay must copy it up exactly once.
        case same
    }

    public static let defaultSizes: [Int64] = [0, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20, 256 << 20]
    public static let name = "copyup"
    static let controlBackend = "-"

    public let configuration: Configuration
    let sampler: Sampler
    var timesControl: Bool { configuration.control && configuration.trigger == .write && configuration.jobs == nil }

    /// The stack one backend and cache state need: `w<i>` files for the write trials, `o<i>` for
    /// the open trials, in the top lower layer.
    func stackSpec() -> LayerStackSpec {
        var files: [FileSpec] = []
        let sparse: Bool? = configuration.sparse ? true : nil
        for size in configuration.sizes {
            for i in 0..<plan.rounds {
                for path in paths(size: size, index: i) {
                    files.append(FileSpec(path: path, size: size, layer: 0, sparse: sparse))
                }
            }
        }
        return LayerStackSpec(layerCount: configuration.layers, seed: plan.seed, files: files)
    }

    /// The lower files sample `index` of `size` uses.
    func paths(size: Int64, index: Int) -> [String] {
        switch (configuration.jobs, configuration.jobsMode) {
        case (let jobs?, .distinct): (0..<jobs).map { Self.path(size: size, pass: "j", index: index) + "-\($0)" }
        case (_?, .same): [Self.path(size: size, pass: "r", index: index)]
        case (nil, _):
            [Self.path(size: size, pass: "w", index: index)]
                + (configuration.trigger == .write ? [Self.path(size: size, pass: "o", index: index)] : [])
        }
    }

    static func path(size: Int64, pass: String, index: Int) -> String { "copyup/\(size)/\(pass)\(index)" }

    /// Bytes of disk the whole run needs, for the check before generating: the stacks, and the
    /// control copies. One cache state's stacks exist at a time: each state's trees are removed
    /// before the next state generates its own.
    public func estimatedBytes() -> Int64 {
        let controls = timesControl ? configuration.sizes.reduce(0, +) * Int64(plan.rounds) : 0
        return LayerStackBuilder(spec: stackSpec()).estimatedBytes * Int64(sampler.backends.count) + controls
    }

    /// Runs every backend and cache state; the trials of a round are shuffled together.
    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        for (cacheIndex, cache) in plan.caches.enumerated() {
            try SignalTrap.check()
            let set = MergedViewSet(log: log)
            let controlDirectory = runDirectory + "/copyup-\(cache.rawValue)-control"
            defer {
                set.unmountAll()
                // Free this state's trees before the next state generates its own (the last
                // state's stay for --keep; the session removes them otherwise).
                if cacheIndex < plan.caches.count - 1 { set.removeTrees(and: [controlDirectory]) }
            }
            try set.mountEach(sampler.backends, spec: stackSpec(), prefix: runDirectory + "/copyup-\(cache.rawValue)",
                              what: "\(configuration.sizes.count) sizes × \(plan.rounds) files × 2 passes (\(cache.rawValue))",
                              options: plan.mountOptions, probe: Self.name, mounts: &mounts)
            if timesControl { try FileDescriptor.currentWorkingDirectory.makeDirectory(controlDirectory, mode: 0o755) }
            try releaseLowerFiles(set.views)
            let label = "copyup \(configuration.trigger.rawValue)"
            if let jobs = configuration.jobs {
                try sampler.run(label + " \(jobs) jobs", cache: cache, book: book) { try jobTrials(set.views, jobs: jobs, round: $0) }
            } else {
                try sampler.run(label, cache: cache, book: book) { round in
                    try trials(set.views, round: round) + (timesControl ? try controlTrials(set.views, in: controlDirectory, round: round) : [])
                }
                if timesControl { recordOverhead(set.views, cache: cache, book: book) }
            }
            try set.recordFootprints(probe: Self.name, book: book) { sampler.complete(parameters($0), cache, true) }
        }
    }

    /// The parameters every measurement of `view` carries; `size` for the per-size ones.
    func parameters(_ view: any MergedView, size: Int64? = nil) -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [
            "mountOptions": .string((view.requestedOptions ?? plan.mountOptions).description),
            "layers": .int(Int64(configuration.layers)),
            "trigger": .string(configuration.trigger.rawValue),
        ]
        if let size { parameters["size"] = .int(size) }
        if configuration.sparse { parameters["sparse"] = true }
        if let jobs = configuration.jobs {
            parameters["jobs"] = .int(Int64(jobs))
            parameters["jobsMode"] = .string(configuration.jobsMode.rawValue)
        }
        return parameters
    }

    func key(_ view: any MergedView, _ metric: String, size: Int64, unit: String = "ns") -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: view.backend, metric: metric, unit: unit,
                       parameters: parameters(view, size: size))
    }

    /// Whether the view's mount copies metadata-only changes up as metacopies.
    func metacopy(_ view: any MergedView) -> Bool {
        view.capabilities.metacopy && (view.requestedOptions ?? plan.mountOptions).metacopy
    }

    /// One round's write (with its second write) and open trials, for every size and view.
    private func trials(_ views: [(stack: LayerStack, view: any MergedView)], round i: Int) throws -> [Trial] {
        let verifier = CopyUpVerifier()
        let trigger = configuration.trigger
        let byte = OneByte.written
        var trials: [Trial] = []
        for size in configuration.sizes {
            for (stack, view) in views {
                let quiescer = try sampler.quiescer(stack, view)
                let calls = ViewCalls(view)
                let path = Self.path(size: size, pass: "w", index: i)
                let expected = trigger.expectation(path, size: size, sparse: configuration.sparse, metacopy: metacopy(view))
                let second = Trial(key: key(view, trigger.metrics.second, size: size), writes: true, quiescer: quiescer,
                                   operation: { _ in try trigger.perform(calls, path, size: size, second: true, byte: byte.pointer) })
                trials.append(Trial(
                    key: key(view, trigger.metrics.first, size: size), writes: true, quiescer: quiescer, view: view,
                    warm: { try SourceFile.readThrough(stack.lowerLayers[0].diff + "/" + path) },
                    operation: { _ in try trigger.perform(calls, path, size: size, second: false, byte: byte.pointer) },
                    verify: { _ in
                        try verifier.verify(expected, stack: stack, view: view)
                        if trigger == .link { try Self.verifyLinked(view, path) }
                        var readings = try Self.extentReadings(view.upperPath + "/" + expected.upperName) { metric in
                            key(view, metric, size: size, unit: "bytes")
                        }
                        guard configuration.sparse else { return readings }
                        let cwd = FileDescriptor.currentWorkingDirectory
                        let upper = try cwd.status(of: view.upperPath + "/" + expected.upperName)
                        let lower = try cwd.status(of: stack.lowerLayers[0].diff + "/" + path)
                        readings += [Reading(key: key(view, "upperAllocatedBytes", size: size, unit: "bytes"), value: Double(upper.allocatedBytes)),
                                     Reading(key: key(view, "lowerAllocatedBytes", size: size, unit: "bytes"), value: Double(lower.allocatedBytes))]
                        return readings
                    },
                    release: { try Self.release(path, through: calls, stack: stack, view: view, upperName: expected.upperName) },
                    then: [second]))
                guard trigger == .write else { continue }
                let openPath = Self.path(size: size, pass: "o", index: i)
                // Opened for write and closed untouched: the same upper as an O_RDWR open.
                let opened = CopyUpTrigger.rdwrOpen.expectation(openPath, size: size, sparse: configuration.sparse, metacopy: false)
                trials.append(Trial(
                    key: key(view, "open", size: size), writes: true, quiescer: quiescer, view: view,
                    warm: { try SourceFile.readThrough(stack.lowerLayers[0].diff + "/" + openPath) },
                    operation: { watch in watch.outcome = Int64(try calls.open(openPath, .writeOnly).rawValue) },
                    verify: { watch in
                        try FileDescriptor(rawValue: CInt(watch.outcome)).closeChecked(path: openPath)
                        try verifier.verify(opened, stack: stack, view: view)
                        return []
                    },
                    release: { try Self.release(openPath, through: calls, stack: stack, view: view, upperName: opened.upperName) }))
            }
        }
        return trials
    }

    /// The new data the first write left the file in upper with (`upperUnsharedBytes`: extents
    /// `FIEMAP` does not flag shared) and what it still shares with the layer below
    /// (`upperSharedBytes`): a full copy-up owns the whole file, a reflink copy-up or a btrfs
    /// snapshot only the blocks written. Taken after the clock (the map syncs the file first);
    /// none where the filesystem has no extent map (tmpfs).
    static func extentReadings(_ upper: String, key: (String) -> SampleBook.Key) throws -> [Reading] {
        let fd = try FileDescriptor.open(upper, [.readOnly, .noFollow])
        defer { fd.closeIgnoringErrors() }
        let sharing: ExtentSharing
        do {
            sharing = try fd.extentSharing(path: upper)
        } catch {
            if error.errno == .notSupported { return [] }
            throw error
        }
        return [Reading(key: key("upperUnsharedBytes"), value: Double(sharing.unsharedBytes)),
                Reading(key: key("upperSharedBytes"), value: Double(sharing.sharedBytes))]
    }

    /// Lets the page cache go of a sample's file: the merged file (through the view, so that a
    /// FUSE daemon's pages go too), the upper copy and the lower original.
    static func release(_ path: String, through calls: ViewCalls, stack: LayerStack, view: any MergedView, upperName: String) throws {
        do {
            let merged = try calls.open(path, [.readOnly, .noFollow])
            defer { merged.closeIgnoringErrors() }
            try PageCache.release(merged, path: path)
        } catch {
            if error.errno != .noSuchFileOrDirectory { throw error }
        }
        try PageCache.release(view.upperPath + "/" + upperName)
        try PageCache.release(stack.lowerLayers[0].diff + "/" + path)
    }

    /// Lets the page cache go of every generated lower file, once the stacks are written: each
    /// sample's warm preparation reads its own file back in, so the cache holds only what the
    /// sample needs, whatever else was generated (see ``SamplingPlan/releasePages``).
    func releaseLowerFiles(_ views: [(stack: LayerStack, view: any MergedView)]) throws {
        guard sampler.plan.releasesPages(writes: true) else { return }
        for (stack, view) in views {
            try sampler.quiescer(stack, view).quiesce()
            for file in stackSpec().files { try PageCache.release(stack.lowerLayers[file.layer].diff + "/" + file.path) }
        }
    }

    /// After `link`, upper holds the file under both names as one inode.
    private static func verifyLinked(_ view: any MergedView, _ path: String) throws {
        let cwd = FileDescriptor.currentWorkingDirectory
        let original = try cwd.status(of: view.upperPath + "/" + path)
        let link = try cwd.status(of: view.upperPath + "/" + path + ".link")
        guard original.inode == link.inode, original.linkCount >= 2 else {
            throw ProbeError.verificationFailed("\(view.backend): \(path) and \(path).link are not one inode in upper")
        }
    }
}

/// The byte a first write writes, in memory that outlives every trial.
final class OneByte: Sendable {
    static let written = OneByte(CopyUpVerifier.writtenByte)
    nonisolated(unsafe) let storage: UnsafeMutableRawBufferPointer

    init(_ value: UInt8) {
        storage = .allocate(byteCount: 1, alignment: 1)
        storage[0] = value
    }

    var pointer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(storage) }

    deinit { storage.deallocate() }
}

extension CopyUpProbe: SamplingProbe {
    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.init(configuration: configuration, sampler: Sampler(plan: configuration.sampling, backends: backends, log: log))
    }
}
