import OverlayCore
import OverlaySystem

/// The cost of namespace and attribute changes to lower-layer names, and the upper-layer space
/// each one leaves behind.
///
/// Every sample works on fresh lower-only names under one directory per operation, and only the
/// one call (two for the rmdir/mkdir pair) sits between the clock reads, relative to the merged
/// root descriptor (the reference overlay's own call for the reference backend):
/// - `unlink` of a lower file: overlay leaves a whiteout (a 0/0 character device) in upper;
/// - `rmdir` of a lower directory, then `mkdir` of the same name: a whiteout, then an opaque
///   directory (`trusted.overlay.opaque=y`); metrics `rmdir`, `mkdir` and `rmdirMkdir` (the pair);
/// - `renameFile` of a lower file: a copy-up (metadata only under `metacopy=on`) and a whiteout;
/// - `renameDir` of a lower directory: `EXDEV` unless `redirect_dir=on`; `parameters.outcome` is
///   `ok` or the errno's name, and EXDEV is a result, not a failure (mv(1) copies instead);
/// - `chmod` and `chown` of a lower file of `fileSize` bytes: a full copy-up, or an inode-only one
///   under `metacopy=on` (`parameters.copyUp` is `full` or `metacopy`);
/// - `createDeep`: creating a file in a lower-only directory `pathDepth` levels below the nearest
///   ancestor already in upper, which copies up that whole chain first.
/// The directory of each operation is copied up before any sample, so every sample copies the
/// same chain. Each sample is verified afterwards (whiteout, opaque mark, redirect, metacopy,
/// content), and the change it made to the operation's upper subtree is recorded as `upperBytes`
/// (bytes) and `upperInodes` (inodes) with `parameters.op` and `scope=op`. Overlay hard-links
/// every whiteout to one shared inode, so after the first whiteout a new one adds no inode.
/// After the samples, each view's whole upper and work directories are recorded (`scope=run`).
/// Every round's trials (each operation and path depth on each backend) are shuffled.
public struct MetadataProbe {
    public enum Operation: String, CaseIterable, Sendable {
        case unlink, rmdirMkdir, renameFile, renameDir, chmod, chown, createDeep

        /// The directory its samples live in, copied up before the first sample.
        func directory(pathDepth: Int) -> String {
            switch self {
            case .unlink: "unlink"
            case .rmdirMkdir: "rmdir"
            case .renameFile: "renamefile"
            case .renameDir: "renamedir"
            case .chmod: "chmod"
            case .chown: "chown"
            case .createDeep: "deep/p\(pathDepth)"
            }
        }

        public static func parseList(_ text: String) throws(ProbeError) -> [Operation] {
            var result: [Operation] = []
            for item in text.split(separator: ",") {
                guard let operation = Operation(rawValue: String(item)) else {
                    throw .invalidArgument("ops", "\"\(item)\" is not one of \(allCases.map(\.rawValue).joined(separator: ", "))")
                }
                if !result.contains(operation) { result.append(operation) }
            }
            guard !result.isEmpty else { throw .invalidArgument("ops", "is empty") }
            return result
        }
    }

    public struct Configuration: Sendable {
        public var sampling = SamplingPlan()
        public var operations: [Operation] = Operation.allCases
        public var layers: Int = 1
        /// Size of the files `chmod`, `chown` and `renameFile` act on.
        public var fileSize: Int64 = 1 << 20
        /// Lower-only directory levels `createDeep` creates below.
        public var pathDepths: [Int] = MetadataProbe.defaultPathDepths
        public init() {}
    }

    public static let name = "metadata"
    public static let defaultPathDepths = [1, 4, 16, 64]
    /// The mode `chmod` sets and the owner `chown` sets (neither is the generator's).
    static let permissions: UInt32 = 0o600
    static let owner: UInt32 = 4242
    static let smallFile: Int64 = 4096

    public let configuration: Configuration
    let sampler: Sampler

    // MARK: - Names

    static func file(_ operation: Operation, _ index: Int) -> String {
        "\(operation.directory(pathDepth: 0))/f\(index)"
    }

    static func renamed(_ operation: Operation, _ index: Int) -> String {
        "\(operation.directory(pathDepth: 0))/r\(index)"
    }

    static func directory(_ operation: Operation, _ index: Int) -> String {
        "\(operation.directory(pathDepth: 0))/d\(index)"
    }

    /// `deep/p<d>/s<i>/l2/…/l<d>`: `d` directories that only the lower layer holds.
    static func deepDirectory(depth: Int, index: Int) -> String {
        (["deep/p\(depth)/s\(index)"] + (depth >= 2 ? (2...depth).map { "l\($0)" } : [])).joined(separator: "/")
    }

    func stackSpec() -> LayerStackSpec {
        var files: [FileSpec] = []
        let count = plan.rounds
        for operation in configuration.operations {
            for i in 0..<count {
                switch operation {
                case .unlink: files.append(FileSpec(path: Self.file(operation, i), size: Self.smallFile, layer: 0))
                case .rmdirMkdir, .renameDir:
                    files.append(FileSpec(path: Self.directory(operation, i) + "/x", size: Self.smallFile, layer: 0))
                case .renameFile, .chmod, .chown:
                    files.append(FileSpec(path: Self.file(operation, i), size: configuration.fileSize, layer: 0))
                case .createDeep:
                    for depth in configuration.pathDepths {
                        files.append(FileSpec(path: Self.deepDirectory(depth: depth, index: i) + "/keep", size: 0, layer: 0))
                    }
                }
            }
        }
        return LayerStackSpec(layerCount: configuration.layers, seed: plan.seed, files: files)
    }

    /// Bytes of disk the run needs: every stack, its copy-ups, and a flattened copy for plain.
    public func estimatedBytes() -> Int64 {
        LayerStackBuilder(spec: stackSpec()).estimatedBytes * 2 * Int64(sampler.backends.count * plan.caches.count)
    }

    // MARK: - Running

    typealias Views = [(stack: LayerStack, view: any MergedView)]

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        try sampler.checkCapabilities()
        for cache in plan.caches {
            try SignalTrap.check()
            let set = MergedViewSet(log: log)
            defer { set.unmountAll() }
            try set.mountEach(sampler.backends, spec: stackSpec(), prefix: runDirectory + "/metadata-\(cache.rawValue)",
                              what: "\(configuration.operations.count) operations × \(plan.rounds) samples (\(cache.rawValue))",
                              options: plan.mountOptions, probe: Self.name, mounts: &mounts)
            for (_, view) in set.views { try prime(view) }
            try sampler.run("metadata", cache: cache, book: book) { round in
                var trials: [Trial] = []
                for operation in configuration.operations {
                    for depth in operation == .createDeep ? configuration.pathDepths : [0] {
                        for (stack, view) in set.views {
                            let sample = Sample(probe: self, stack: stack, view: view, index: round, pathDepth: depth)
                            trials.append(try sample.trial(operation))
                        }
                    }
                }
                return trials
            }
            try set.recordFootprints(probe: Self.name, book: book) { sampler.complete(baseParameters($0), cache, true) }
        }
    }

    /// Copies up each operation's directory (`mkdir` and `rmdir` of a new name in it), so that
    /// every sample, the first included, copies up the same chain.
    private func prime(_ view: any MergedView) throws {
        let calls = ViewCalls(view)
        for operation in configuration.operations {
            let depths = operation == .createDeep ? configuration.pathDepths : [0]
            for depth in depths {
                let marker = operation.directory(pathDepth: depth) + "/.prime"
                try calls.makeDirectory(marker)
                try calls.removeDirectory(marker)
            }
        }
    }

    private func options(of view: any MergedView) -> OverlayMountOptions {
        view.requestedOptions ?? plan.mountOptions
    }

    private func baseParameters(_ view: any MergedView) -> [String: ParameterValue] {
        [
            "mountOptions": .string(options(of: view).description),
            "mountMethod": .string(view.mountMethod), "layers": .int(Int64(configuration.layers)),
        ]
    }

    // MARK: - One sample

    /// What one sample measured: the timed calls by metric, and extra parameters.
    struct SampleResult {
        var times: [(String, UInt64)] = []
        var parameters: [String: ParameterValue] = [:]
    }

    /// How a backend shows whiteouts and opaque directories in its upper directory.
    enum Flavor {
        /// The kernel's format, which the reference reproduces.
        case overlay
        /// fuse-overlayfs: a 0/0 device as root, else `.wh.<name>`; opaque by xattr or `.wh..wh..opq`.
        case fuse
        /// No layers at all: a change is made in place.
        case plain

        init(_ format: BackendCapabilities.WhiteoutFormat) {
            switch format {
            case .overlay: self = .overlay
            case .fuseOverlayfs: self = .fuse
            case .none: self = .plain
            }
        }
    }

    /// The upper footprint of an operation's subtree before its sample.
    final class Before {
        var footprint = Footprint()
    }

    struct Sample {
        let probe: MetadataProbe
        let stack: LayerStack
        let view: any MergedView
        let index: Int
        let pathDepth: Int

        var calls: ViewCalls { ViewCalls(view) }
        var flavor: Flavor { Flavor(view.capabilities.whiteoutFormat) }
        var options: OverlayMountOptions { probe.options(of: view) }
        var cwd: FileDescriptor { .currentWorkingDirectory }

        /// The operation's trial: its set-up measures the subtree's footprint first, its check
        /// records the timed calls (under parameters only the check knows, such as `outcome`)
        /// and the change to the subtree.
        func trial(_ operation: Operation) throws -> Trial {
            let subtree = view.upperPath + "/" + operation.directory(pathDepth: pathDepth)
            let before = Before()
            let calls = calls
            let (setUp, warm, timed) = steps(operation)
            return Trial(
                key: nil, writes: true, quiescer: try probe.sampler.quiescer(stack, view), view: view,
                setUp: {
                    before.footprint = try Footprint.measure(subtree)
                    try setUp(calls)
                },
                warm: { _ = try calls.status(warm) },
                operation: { watch in try timed(calls, &watch) },
                verify: { watch in
                    let result = try verify(operation, watch)
                    let upper = try Footprint.measure(subtree) - before.footprint
                    var parameters = probe.baseParameters(view)
                    parameters.merge(result.parameters) { $1 }
                    var readings = result.times.map { metric, elapsed in
                        Reading(key: .init(probe: MetadataProbe.name, backend: view.backend, metric: metric, unit: "ns",
                                           parameters: parameters), value: Double(elapsed))
                    }
                    parameters["op"] = .string(operation.rawValue)
                    parameters["scope"] = "op"
                    readings.append(Reading(key: .init(probe: MetadataProbe.name, backend: view.backend, metric: "upperBytes",
                                                       unit: "bytes", parameters: parameters), value: Double(upper.bytes)))
                    readings.append(Reading(key: .init(probe: MetadataProbe.name, backend: view.backend, metric: "upperInodes",
                                                       unit: "inodes", parameters: parameters), value: Double(upper.inodes)))
                    return readings
                })
        }

        /// The operation's untimed set-up, the name a warm cache looks up, and the timed calls.
        private func steps(_ operation: Operation) -> (
            setUp: (ViewCalls) throws -> Void, warm: String, timed: (ViewCalls, inout Stopwatch) throws -> Void
        ) {
            let index = index
            switch operation {
            case .unlink:
                let path = MetadataProbe.file(.unlink, index)
                return ({ _ in }, path, { calls, _ in try calls.unlink(path) })
            case .rmdirMkdir:
                let path = MetadataProbe.directory(.rmdirMkdir, index)
                // rm -r's order: the directory's lower file goes first (a whiteout inside it).
                return ({ calls in try calls.unlink(path + "/x") }, path, { calls, watch in
                    try calls.removeDirectory(path)
                    watch.lap("rmdir")
                    try calls.makeDirectory(path)
                    watch.lap("mkdir")
                })
            case .renameFile:
                let from = MetadataProbe.file(.renameFile, index), to = MetadataProbe.renamed(.renameFile, index)
                return ({ _ in }, from, { calls, _ in try calls.rename(from, to: to) })
            case .renameDir:
                let from = MetadataProbe.directory(.renameDir, index), to = MetadataProbe.renamed(.renameDir, index)
                return ({ _ in }, from, { calls, watch in
                    do { try calls.rename(from, to: to) } catch {
                        guard let failure = error as? SystemError else { throw error }
                        watch.outcome = Int64(failure.errno.rawValue)
                    }
                })
            case .chmod:
                let path = MetadataProbe.file(.chmod, index)
                return ({ _ in }, path, { calls, _ in try calls.changeMode(path, permissions: MetadataProbe.permissions) })
            case .chown:
                let path = MetadataProbe.file(.chown, index)
                return ({ _ in }, path, { calls, _ in try calls.changeOwner(path, uid: MetadataProbe.owner, gid: MetadataProbe.owner) })
            case .createDeep:
                let directory = MetadataProbe.deepDirectory(depth: pathDepth, index: index)
                return ({ _ in }, directory, { calls, watch in
                    watch.outcome = Int64(try calls.open(directory + "/new", [.writeOnly, .create, .exclusive], mode: 0o644).rawValue)
                })
            }
        }

        /// Checks what the timed calls did, and names what to record.
        private func verify(_ operation: Operation, _ watch: Stopwatch) throws -> SampleResult {
            let elapsed = watch.elapsed
            switch operation {
            case .unlink:
                try verifyWhiteout(MetadataProbe.file(.unlink, index))
                return SampleResult(times: [("unlink", elapsed)])
            case .rmdirMkdir:
                try verifyOpaque(MetadataProbe.directory(.rmdirMkdir, index), hiding: "x")
                return SampleResult(times: [("rmdir", watch.laps(named: "rmdir")[0]), ("mkdir", watch.laps(named: "mkdir")[0]),
                                            ("rmdirMkdir", elapsed)])
            case .renameFile:
                let from = MetadataProbe.file(.renameFile, index), to = MetadataProbe.renamed(.renameFile, index)
                try verifyWhiteout(from)
                let outcome = try verifyCopy(to, lower: from, size: probe.configuration.fileSize)
                return SampleResult(times: [("renameFile", elapsed)],
                                    parameters: ["fileSize": .int(probe.configuration.fileSize), "copyUp": .string(outcome.rawValue)])
            case .renameDir:
                return try verifyRenamedDirectory(failure: watch.outcome == 0 ? nil : Errno(rawValue: CInt(watch.outcome)), elapsed: elapsed)
            case .chmod, .chown:
                return try verifyAttributes(operation, elapsed: elapsed)
            case .createDeep:
                let path = MetadataProbe.deepDirectory(depth: pathDepth, index: index) + "/new"
                try FileDescriptor(rawValue: CInt(watch.outcome)).closeChecked(path: path)
                guard (try? cwd.status(of: view.upperPath + "/" + path))?.type == .regular else {
                    throw ProbeError.verificationFailed("\(view.backend): \(path) is not in upper after creating it")
                }
                return SampleResult(times: [("createDeep", elapsed)], parameters: ["pathDepth": .int(Int64(pathDepth))])
            }
        }

        private func verifyRenamedDirectory(failure: Errno?, elapsed: UInt64) throws -> SampleResult {
            let from = MetadataProbe.directory(.renameDir, index), to = MetadataProbe.renamed(.renameDir, index)
            switch failure {
            case nil:
                try expectAbsent(from)
                guard (try? calls.status(to + "/x"))?.type == .regular else {
                    throw ProbeError.verificationFailed("\(view.backend): \(to)/x is not visible after renaming \(from)")
                }
                if flavor == .overlay && !OverlayAttributes.has("redirect", at: view.upperPath + "/" + to) {
                    throw ProbeError.verificationFailed("\(view.backend): renamed lower directory \(to) has no overlay.redirect in upper")
                }
            case .crossDeviceLink?:
                // mv(1) falls back to copy and delete here; the tree must be untouched.
                try expectAbsent(to)
                guard (try? calls.status(from + "/x"))?.type == .regular else {
                    throw ProbeError.verificationFailed("\(view.backend): \(from)/x vanished although the rename failed with EXDEV")
                }
            case let errno?:
                throw ProbeError.verificationFailed("\(view.backend): rename \(from) \(to): \(errno) (\(errno.name))")
            }
            return SampleResult(times: [("renameDir", elapsed)], parameters: ["outcome": .string(failure?.name ?? "ok")])
        }

        private func verifyAttributes(_ operation: Operation, elapsed: UInt64) throws -> SampleResult {
            let path = MetadataProbe.file(operation, index)
            let status = try calls.status(path)
            let changed = operation == .chmod
                ? status.permissions == MetadataProbe.permissions
                : status.uid == MetadataProbe.owner && status.gid == MetadataProbe.owner
            guard changed else {
                throw ProbeError.verificationFailed("\(view.backend): \(operation.rawValue) \(path) did not take (mode \(String(status.permissions, radix: 8)), owner \(status.uid):\(status.gid))")
            }
            let outcome = try verifyCopy(path, lower: path, size: probe.configuration.fileSize)
            return SampleResult(times: [(operation.rawValue, elapsed)],
                                parameters: ["fileSize": .int(probe.configuration.fileSize), "copyUp": .string(outcome.rawValue)])
        }

        // MARK: Verification

        private func expectAbsent(_ path: String) throws {
            do {
                _ = try calls.status(path)
            } catch {
                if error.errno == .noSuchFileOrDirectory { return }
                throw error
            }
            throw ProbeError.verificationFailed("\(view.backend): \(path) is still visible")
        }

        /// The name is gone from the merged view, and upper hides the lower one with a whiteout.
        private func verifyWhiteout(_ path: String) throws {
            try expectAbsent(path)
            let upper = view.upperPath + "/" + path
            let status = try? cwd.status(of: upper)
            switch flavor {
            case .plain:
                if status != nil { throw ProbeError.verificationFailed("plain: \(upper) still exists") }
            case .overlay, .fuse:
                if status?.isWhiteoutDevice == true { return }
                let parts = path.split(separator: "/")
                let legacy = view.upperPath + "/" + (parts.dropLast().map { $0 + "/" }.joined()) + ".wh." + parts.last!
                if flavor == .fuse && (try? cwd.status(of: legacy)) != nil { return }
                throw ProbeError.verificationFailed("\(view.backend): \(upper) is not a whiteout (\(status.map { "\($0.type)" } ?? "absent"))")
            }
        }

        /// The directory is back, empty in the merged view, and marked opaque in upper.
        private func verifyOpaque(_ path: String, hiding hidden: String) throws {
            let names = try calls.entries(path)
            guard names.isEmpty else {
                throw ProbeError.verificationFailed("\(view.backend): recreated \(path) lists \(names), expected nothing (\(hidden) is in the lower one)")
            }
            let upper = view.upperPath + "/" + path
            switch flavor {
            case .plain: return
            case .overlay:
                guard OverlayAttributes.value("opaque", at: upper) == Array("y".utf8) else {
                    throw ProbeError.verificationFailed("\(view.backend): \(upper) is not marked overlay.opaque=y")
                }
            case .fuse:
                if OverlayAttributes.value("opaque", at: upper) != nil { return }
                if (try? ExtendedAttributes.get("user.fuseoverlayfs.opaque", path: upper)) != nil { return }
                if (try? cwd.status(of: upper + "/.wh..wh..opq")) != nil { return }
                throw ProbeError.verificationFailed("fuse: \(upper) carries no opaque mark")
            }
        }

        /// Upper holds `path` with the lower file's content, or a metacopy of it where the mount
        /// allows one.
        private func verifyCopy(_ path: String, lower: String, size: Int64) throws -> CopyUpVerifier.Outcome {
            let metacopy = flavor == .overlay && options.metacopy
            let outcome = try CopyUpVerifier().verify(
                .init(upperName: path, lowerName: lower, lowerSize: size, size: size, allowMetacopy: metacopy),
                stack: stack, view: view)
            // A file with no data at all has nothing to leave behind, metacopy or not.
            if metacopy && size > 0 && outcome != .metacopy && view.capabilities.metacopy {
                throw ProbeError.verificationFailed("\(view.backend): \(path) was copied up in full under metacopy=on")
            }
            return outcome
        }
    }
}

/// The overlay's private xattrs on an upper path, in the `trusted.overlay.` namespace or, for
/// `userxattr` mounts, `user.overlay.`.
enum OverlayAttributes {
    static func value(_ name: String, at path: String) -> [UInt8]? {
        for prefix in ["trusted.overlay.", "user.overlay."] {
            if let value = try? ExtendedAttributes.get(prefix + name, path: path) { return value }
        }
        return nil
    }

    static func has(_ name: String, at path: String) -> Bool { value(name, at: path) != nil }
}

extension MetadataProbe: SamplingProbe {
    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.init(configuration: configuration, sampler: Sampler(plan: configuration.sampling, backends: backends, log: log))
    }
}
