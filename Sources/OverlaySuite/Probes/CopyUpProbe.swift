import Foundation
import OverlayCore
import OverlaySystem

/// First-write copy-up cost against file size.
///
/// For each size it places fresh lower-only files, mounts, and times per file:
/// - `firstWrite`: `open(O_WRONLY)`, `pwrite` of 1 byte at offset 0, `close` on the lower-only
///   file: the copy-up happens here;
/// - `secondWrite`: the same on the now-upper file;
/// - `open`: `open(O_WRONLY)` alone on another fresh lower file, in a separate pass: overlay
///   copies up at open time, so this is the copy-up without the write.
/// Only those syscalls sit between the two clock reads. Every sample is verified afterwards:
/// the upper layer must hold a full-size copy whose bytes match the lower file except the one
/// written; a sample that did not copy up is an error, never a data point.
///
/// Variations:
/// - `trigger` (``CopyUpTrigger``, `parameters.trigger`): another call in place of the write;
///   its metrics are `firstOp` and `secondOp`, and the open pass is left out. Verification
///   follows the call (a 0-byte upper after `trunc-open`, half the size after `truncate`, and
///   under `metacopy=on` a data-less metacopy upper after chmod, chown, setxattr, link, rename).
/// - `sparse` (`parameters.sparse`): lower files hold data in every other 1 MiB chunk; each
///   sample also records `upperAllocatedBytes` and `lowerAllocatedBytes` (bytes).
/// - `jobs` (`parameters.jobs`, `parameters.jobsMode`): N threads released together, in place of
///   the passes above (see `CopyUpProbe+Jobs.swift`).
/// After the samples, each view's upper and work directories are recorded (``Footprint``).
public struct CopyUpProbe {
    public struct Configuration: Sendable {
        public var sizes: [Int64] = CopyUpProbe.defaultSizes
        public var samples: Int = 10
        /// Extra files per size taken first and discarded.
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var layers: Int = 1
        public var seed: UInt64 = 1
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
        /// The call that copies up.
        public var trigger: CopyUpTrigger = .write
        /// Lower files with a hole in every other 1 MiB chunk.
        public var sparse = false
        /// Threads first-writing at once; nil runs the single-threaded passes.
        public var jobs: Int? = nil
        public var jobsMode: JobsMode = .distinct
        /// Idle time before each timed call, in nanoseconds; 0 times calls back to back.
        ///
        /// It changes what is measured where work crosses threads. Back to back, a FUSE daemon's
        /// threads ran less than the scheduler's migration cost ago (`sched_migration_cost_ns`,
        /// 0.5 ms) and are woken where they last ran, on another CPU; after an idle millisecond
        /// they can be woken next to the caller. On 2 vCPUs fuse-overlayfs's 4 KiB first write
        /// took about twice as long back to back. The kernel overlay works in the caller's thread
        /// and barely changes. Recorded as `parameters.settleNs` when set.
        public var settleNanoseconds: UInt64 = 0
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

    public let configuration: Configuration
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.backends = backends
        self.log = log
    }

    /// The stack one backend and cache state need: `w<i>` files for the write pass, `o<i>` for
    /// the open pass, in the top lower layer.
    func stackSpec() -> LayerStackSpec {
        var files: [FileSpec] = []
        let count = configuration.samples + configuration.warmup
        let sparse: Bool? = configuration.sparse ? true : nil
        for size in configuration.sizes {
            for i in 0..<count {
                for path in paths(size: size, index: i) {
                    files.append(FileSpec(path: path, size: size, layer: 0, sparse: sparse))
                }
            }
        }
        return LayerStackSpec(layerCount: configuration.layers, seed: configuration.seed, files: files)
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

    /// Bytes of disk the whole run needs, for the check before generating.
    /// One cache state's stacks exist at a time: each state's trees are removed before the next
    /// state generates its own.
    public func estimatedBytes() -> Int64 {
        LayerStackBuilder(spec: stackSpec()).estimatedBytes * Int64(backends.count)
    }

    /// Runs every backend and cache state, interleaving backends sample by sample.
    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        for (cacheIndex, cache) in configuration.caches.enumerated() {
            try SignalTrap.check()
            let set = MergedViewSet(log: log)
            defer {
                set.unmountAll()
                // Free this state's trees before the next state generates its own (the last
                // state's stay for --keep; the session removes them otherwise).
                if cacheIndex < configuration.caches.count - 1 {
                    for directory in set.directories where MountTable.current().mounts(under: directory).isEmpty {
                        do { try TreeRemover.remove(directory) } catch { log.warning("remove \(directory): \(error)") }
                    }
                }
            }
            for (index, backend) in backends.enumerated() {
                let directory = runDirectory + "/copyup-\(cache.rawValue)-\(backend.identifier)-\(index)"
                log.info("generating \(configuration.sizes.count) sizes × \(configuration.samples + configuration.warmup) files × 2 passes for \(backend.identifier) (\(cache.rawValue))")
                let (_, view) = try set.mount(backend, spec: stackSpec(), in: directory, options: configuration.mountOptions,
                                              probe: Self.name, mounts: &mounts)
                log.info("mounted \(backend.identifier) by \(view.mountMethod): \(view.effectiveOptions)")
            }
            if let jobs = configuration.jobs {
                try measureJobs(views: set.views, jobs: jobs, cache: cache, book: book)
            } else {
                try measure(views: set.views, cache: cache, book: book)
            }
            for entry in set.views {
                try Footprint.record(probe: Self.name, view: entry.view, workPath: entry.stack.workPath,
                                     parameters: parameters(entry.view, cache: cache), book: book)
            }
        }
    }

    /// The parameters every measurement of `view` carries; `size` for the per-size ones.
    func parameters(_ view: any MergedView, cache: CacheState, size: Int64? = nil) -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [
            "cache": .string(cache.rawValue),
            "mountOptions": .string((view.requestedOptions ?? configuration.mountOptions).description),
            "layers": .int(Int64(configuration.layers)), "fs": .string(configuration.fs),
            "trigger": .string(configuration.trigger.rawValue),
        ]
        if let size { parameters["size"] = .int(size) }
        if configuration.sparse { parameters["sparse"] = true }
        if configuration.settleNanoseconds > 0 { parameters["settleNs"] = .int(Int64(configuration.settleNanoseconds)) }
        if let jobs = configuration.jobs {
            parameters["jobs"] = .int(Int64(jobs))
            parameters["jobsMode"] = .string(configuration.jobsMode.rawValue)
        }
        return parameters
    }

    func key(_ view: any MergedView, _ metric: String, size: Int64, cache: CacheState, unit: String = "ns") -> SampleBook.Key {
        SampleBook.Key(probe: Self.name, backend: view.backend, metric: metric, unit: unit,
                       parameters: parameters(view, cache: cache, size: size))
    }

    /// Whether the view's mount copies metadata-only changes up as metacopies.
    func metacopy(_ view: any MergedView) -> Bool {
        ["kernel", "reference"].contains(view.backend) && (view.requestedOptions ?? configuration.mountOptions).metacopy
    }

    private func measure(views: [(stack: LayerStack, view: any MergedView)], cache: CacheState, book: SampleBook) throws {
        let total = configuration.samples + configuration.warmup
        let verifier = CopyUpVerifier()
        let trigger = configuration.trigger
        for i in 0..<total {
            let recording = i >= configuration.warmup
            for size in configuration.sizes {
                for (stack, view) in views {
                    try SignalTrap.check()
                    let path = Self.path(size: size, pass: "w", index: i)
                    let calls = ViewCalls(view)
                    try prepare(cache: cache, stack: stack, path: path)
                    settle()
                    let first = try trigger.timed(calls, path, size: size, second: false)
                    let expected = trigger.expectation(path, size: size, sparse: configuration.sparse, metacopy: metacopy(view))
                    try verifier.verify(expected, stack: stack, view: view)
                    if trigger == .link { try verifyLinked(view, path) }
                    let upperAllocated = try FileDescriptor.currentWorkingDirectory.status(of: view.upperPath + "/" + expected.upperName).allocatedBytes
                    let second = try trigger.timed(calls, path, size: size, second: true)
                    if recording {
                        book.record(Double(first), for: key(view, trigger.metrics.first, size: size, cache: cache))
                        book.record(Double(second), for: key(view, trigger.metrics.second, size: size, cache: cache))
                        if configuration.sparse {
                            let lower = try FileDescriptor.currentWorkingDirectory.status(of: stack.lowerLayers[0].diff + "/" + path)
                            book.record(Double(upperAllocated), for: key(view, "upperAllocatedBytes", size: size, cache: cache, unit: "bytes"))
                            book.record(Double(lower.allocatedBytes), for: key(view, "lowerAllocatedBytes", size: size, cache: cache, unit: "bytes"))
                        }
                    }
                }
            }
            log.progress("copyup \(cache.rawValue) \(trigger.rawValue) pass", done: i + 1, of: total)
        }
        guard trigger == .write else { return }
        for i in 0..<total {
            let recording = i >= configuration.warmup
            for size in configuration.sizes {
                for (stack, view) in views {
                    try SignalTrap.check()
                    let path = Self.path(size: size, pass: "o", index: i)
                    try prepare(cache: cache, stack: stack, path: path)
                    settle()
                    let elapsed = try timedOpen(view, path)
                    // Opened for write and closed untouched: the same upper as an O_RDWR open.
                    try verifier.verify(CopyUpTrigger.rdwrOpen.expectation(path, size: size, sparse: configuration.sparse, metacopy: false),
                                        stack: stack, view: view)
                    if recording { book.record(Double(elapsed), for: key(view, "open", size: size, cache: cache)) }
                }
            }
            log.progress("copyup \(cache.rawValue) open pass", done: i + 1, of: total)
        }
    }

    /// Sleeps ``Configuration/settleNanoseconds`` (nothing when 0).
    private func settle() {
        guard configuration.settleNanoseconds > 0 else { return }
        Thread.sleep(forTimeInterval: Double(configuration.settleNanoseconds) / 1e9)
    }

    /// After `link`, upper holds the file under both names as one inode.
    private func verifyLinked(_ view: any MergedView, _ path: String) throws {
        let cwd = FileDescriptor.currentWorkingDirectory
        let original = try cwd.status(of: view.upperPath + "/" + path)
        let link = try cwd.status(of: view.upperPath + "/" + path + ".link")
        guard original.inode == link.inode, original.linkCount >= 2 else {
            throw ProbeError.verificationFailed("\(view.backend): \(path) and \(path).link are not one inode in upper")
        }
    }

    /// Warm: read the lower file through so its pages are cached. Cold: drop caches.
    func prepare(cache: CacheState, stack: LayerStack, path: String) throws {
        switch cache {
        case .warm:
            let fd = try FileDescriptor.open(stack.lowerLayers[0].diff + "/" + path, .readOnly)
            defer { fd.closeIgnoringErrors() }
            try? fd.advise(.sequential)
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
        case .cold:
            try PageCache.drop()
        }
    }

    /// `open(O_WRONLY)` alone.
    private func timedOpen(_ view: any MergedView, _ path: String) throws -> UInt64 {
        let start = MonotonicClock.now()
        let fd = try view.open(path, .writeOnly, mode: 0)
        let elapsed = MonotonicClock.now() - start
        try fd.closeChecked(path: path)
        return elapsed
    }
}
