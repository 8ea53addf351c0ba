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
/// Backends are interleaved sample by sample.
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
        public var operations: [Operation] = Operation.allCases
        public var samples: Int = 10
        public var warmup: Int = 1
        public var caches: [CacheState] = [.warm]
        public var mountOptions: OverlayMountOptions = .defaults
        public var layers: Int = 1
        /// Size of the files `chmod`, `chown` and `renameFile` act on.
        public var fileSize: Int64 = 1 << 20
        /// Lower-only directory levels `createDeep` creates below.
        public var pathDepths: [Int] = MetadataProbe.defaultPathDepths
        public var seed: UInt64 = 1
        /// The backing filesystem's name, recorded as `parameters.fs`.
        public var fs: String = BackingFilesystemKind.root.rawValue
        public init() {}
    }

    public static let name = "metadata"
    public static let defaultPathDepths = [1, 4, 16, 64]
    /// The mode `chmod` sets and the owner `chown` sets (neither is the generator's).
    static let permissions: UInt32 = 0o600
    static let owner: UInt32 = 4242
    static let smallFile: Int64 = 4096

    public let configuration: Configuration
    public let backends: [any OverlayBackend]
    public let log: ProgressLog

    public init(configuration: Configuration, backends: [any OverlayBackend], log: ProgressLog) {
        self.configuration = configuration
        self.backends = backends
        self.log = log
    }

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
        let count = configuration.samples + configuration.warmup
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
        return LayerStackSpec(layerCount: configuration.layers, seed: configuration.seed, files: files)
    }

    /// Bytes of disk the run needs: every stack, its copy-ups, and a flattened copy for plain.
    public func estimatedBytes() -> Int64 {
        LayerStackBuilder(spec: stackSpec()).estimatedBytes * 2 * Int64(backends.count * configuration.caches.count)
    }

    // MARK: - Running

    typealias Views = [(stack: LayerStack, view: any MergedView)]

    public func run(in runDirectory: String, book: SampleBook, mounts: inout [RunEnvironment.MountRecord]) throws {
        if configuration.caches.contains(.cold) && !PageCache.canDrop {
            throw ProbeError.unsupported("--cache cold needs a writable \(PageCache.dropCachesPath) (root)")
        }
        for cache in configuration.caches {
            try SignalTrap.check()
            let set = MergedViewSet(log: log)
            defer { set.unmountAll() }
            for (index, backend) in backends.enumerated() {
                let directory = runDirectory + "/metadata-\(cache.rawValue)-\(backend.identifier)-\(index)"
                log.info("generating \(configuration.operations.count) operations × \(configuration.samples + configuration.warmup) samples for \(backend.identifier) (\(cache.rawValue))")
                let (_, view) = try set.mount(backend, spec: stackSpec(), in: directory, options: configuration.mountOptions,
                                              probe: Self.name, mounts: &mounts)
                log.info("mounted \(backend.identifier) by \(view.mountMethod): \(view.effectiveOptions)")
                try prime(view)
            }
            try measure(set.views, cache: cache, book: book)
            for (stack, view) in set.views {
                try Footprint.record(probe: Self.name, view: view, workPath: stack.workPath,
                                     parameters: baseParameters(view, cache: cache), book: book)
            }
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
        view.requestedOptions ?? configuration.mountOptions
    }

    private func baseParameters(_ view: any MergedView, cache: CacheState) -> [String: ParameterValue] {
        [
            "cache": .string(cache.rawValue), "mountOptions": .string(options(of: view).description),
            "mountMethod": .string(view.mountMethod), "layers": .int(Int64(configuration.layers)),
            "fs": .string(configuration.fs),
        ]
    }

    private func measure(_ views: Views, cache: CacheState, book: SampleBook) throws {
        let total = configuration.samples + configuration.warmup
        for i in 0..<total {
            for operation in configuration.operations {
                let depths = operation == .createDeep ? configuration.pathDepths : [0]
                for depth in depths {
                    for (stack, view) in views {
                        try SignalTrap.check()
                        let sample = Sample(probe: self, stack: stack, view: view, cache: cache, index: i, pathDepth: depth)
                        let result = try sample.run(operation)
                        guard i >= configuration.warmup else { continue }
                        var parameters = baseParameters(view, cache: cache)
                        parameters.merge(result.parameters) { $1 }
                        for (metric, elapsed) in result.times {
                            book.record(Double(elapsed), for: .init(probe: Self.name, backend: view.backend, metric: metric,
                                                                    unit: "ns", parameters: parameters))
                        }
                        parameters["op"] = .string(operation.rawValue)
                        parameters["scope"] = "op"
                        book.record(Double(result.upper.bytes), for: .init(probe: Self.name, backend: view.backend,
                                                                           metric: "upperBytes", unit: "bytes", parameters: parameters))
                        book.record(Double(result.upper.inodes), for: .init(probe: Self.name, backend: view.backend,
                                                                            metric: "upperInodes", unit: "inodes", parameters: parameters))
                    }
                }
            }
            log.progress("metadata \(cache.rawValue)", done: i + 1, of: total)
        }
    }

    // MARK: - One sample

    /// What one sample measured: the timed calls by metric, extra parameters, and the change to
    /// the operation's upper subtree.
    struct SampleResult {
        var times: [(String, UInt64)] = []
        var parameters: [String: ParameterValue] = [:]
        var upper = Footprint()
    }

    /// How a backend shows whiteouts and opaque directories in its upper directory.
    enum Flavor {
        /// The kernel's format, which the reference reproduces.
        case overlay
        /// fuse-overlayfs: a 0/0 device as root, else `.wh.<name>`; opaque by xattr or `.wh..wh..opq`.
        case fuse
        /// No layers at all: a change is made in place.
        case plain

        init(_ backend: String) {
            switch backend {
            case "fuse": self = .fuse
            case "plain": self = .plain
            default: self = .overlay
            }
        }
    }

    struct Sample {
        let probe: MetadataProbe
        let stack: LayerStack
        let view: any MergedView
        let cache: CacheState
        let index: Int
        let pathDepth: Int

        var calls: ViewCalls { ViewCalls(view) }
        var flavor: Flavor { Flavor(view.backend) }
        var options: OverlayMountOptions { probe.options(of: view) }
        var cwd: FileDescriptor { .currentWorkingDirectory }

        func run(_ operation: Operation) throws -> SampleResult {
            let subtree = view.upperPath + "/" + operation.directory(pathDepth: pathDepth)
            let before = try Footprint.measure(subtree)
            var result: SampleResult
            switch operation {
            case .unlink: result = try unlink()
            case .rmdirMkdir: result = try rmdirMkdir()
            case .renameFile: result = try renameFile()
            case .renameDir: result = try renameDir()
            case .chmod, .chown: result = try changeAttributes(operation)
            case .createDeep: result = try createDeep()
            }
            result.upper = try Footprint.measure(subtree) - before
            return result
        }

        /// Warm: look the name up once so its dentries are cached. Cold: drop caches (twice).
        private func prepare(_ path: String) throws {
            switch cache {
            case .warm: _ = try calls.status(path)
            case .cold: try PageCache.drop()
            }
        }

        private func unlink() throws -> SampleResult {
            let path = MetadataProbe.file(.unlink, index)
            let calls = calls
            try prepare(path)
            let start = MonotonicClock.now()
            try calls.unlink(path)
            let elapsed = MonotonicClock.now() - start
            try verifyWhiteout(path)
            return SampleResult(times: [("unlink", elapsed)])
        }

        private func rmdirMkdir() throws -> SampleResult {
            let path = MetadataProbe.directory(.rmdirMkdir, index)
            let calls = calls
            // rm -r's order: the directory's lower file goes first (a whiteout inside it).
            try calls.unlink(path + "/x")
            try prepare(path)
            let start = MonotonicClock.now()
            try calls.removeDirectory(path)
            let middle = MonotonicClock.now()
            try calls.makeDirectory(path)
            let end = MonotonicClock.now()
            try verifyOpaque(path, hiding: "x")
            return SampleResult(times: [("rmdir", middle - start), ("mkdir", end - middle), ("rmdirMkdir", end - start)])
        }

        private func renameFile() throws -> SampleResult {
            let from = MetadataProbe.file(.renameFile, index), to = MetadataProbe.renamed(.renameFile, index)
            let calls = calls
            try prepare(from)
            let start = MonotonicClock.now()
            try calls.rename(from, to: to)
            let elapsed = MonotonicClock.now() - start
            try verifyWhiteout(from)
            let outcome = try verifyCopy(to, lower: from, size: probe.configuration.fileSize)
            return SampleResult(times: [("renameFile", elapsed)],
                                parameters: ["fileSize": .int(probe.configuration.fileSize), "copyUp": .string(outcome.rawValue)])
        }

        private func renameDir() throws -> SampleResult {
            let from = MetadataProbe.directory(.renameDir, index), to = MetadataProbe.renamed(.renameDir, index)
            let calls = calls
            try prepare(from)
            var failure: Errno?
            let start = MonotonicClock.now()
            do { try calls.rename(from, to: to) } catch { failure = error.errno }
            let elapsed = MonotonicClock.now() - start
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

        private func changeAttributes(_ operation: Operation) throws -> SampleResult {
            let path = MetadataProbe.file(operation, index)
            let calls = calls
            try prepare(path)
            let start = MonotonicClock.now()
            if operation == .chmod {
                try calls.changeMode(path, permissions: MetadataProbe.permissions)
            } else {
                try calls.changeOwner(path, uid: MetadataProbe.owner, gid: MetadataProbe.owner)
            }
            let elapsed = MonotonicClock.now() - start
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

        private func createDeep() throws -> SampleResult {
            let directory = MetadataProbe.deepDirectory(depth: pathDepth, index: index)
            let path = directory + "/new"
            let calls = calls
            try prepare(directory)
            let start = MonotonicClock.now()
            let fd = try calls.open(path, [.writeOnly, .create, .exclusive], mode: 0o644)
            let elapsed = MonotonicClock.now() - start
            try fd.closeChecked(path: path)
            guard (try? cwd.status(of: view.upperPath + "/" + path))?.type == .regular else {
                throw ProbeError.verificationFailed("\(view.backend): \(path) is not in upper after creating it")
            }
            return SampleResult(times: [("createDeep", elapsed)], parameters: ["pathDepth": .int(Int64(pathDepth))])
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
            if metacopy && size > 0 && outcome != .metacopy && view.backend == "kernel" {
                throw ProbeError.verificationFailed("kernel: \(path) was copied up in full under metacopy=on")
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
