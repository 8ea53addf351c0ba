import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import PropertyBased
import Synchronization
import Testing

// The reference overlay checked against the kernel: seeded random layer stacks and traces run on
// two identical fresh stacks, one mounted by the kernel and one served by the reference; every
// operation's result and the final dumps (merged view, then upper) must be identical. A failure
// prints the seed, the original trace with both sides' results and the dump differences, and then
// either the trace shrunk to the operations that still diverge or, when a rerun of the original
// no longer diverges, that the divergence did not reproduce.
//
// OVERLAYBENCH_DIFF_TRACES sets the number of mixed traces (default 100), OVERLAYBENCH_DIFF_SEED
// the first seed (default 1); seeds run first…first+count-1.

/// The operation families of unionmount-testsuite, each a weighting of the generator.
enum TraceFamily: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case openTruncCreateExcl = "open-trunc-create-excl"
    case truncate
    case renameExdev = "rename-exdev"
    case rmdirOpaque = "rmdir-opaque"
    case hardLinks = "hard-links"
    case unlinkWhiteouts = "unlink-whiteouts"
    case createThroughSymlink = "create-through-symlink"
    case massRenames = "mass-renames"
    case mixed

    var testDescription: String { rawValue }
}

/// Seeded stacks and traces over a small pool of names, so operations collide often.
struct DifferentialGenerator {
    var random: Xoshiro

    init(seed: UInt64) {
        random = Xoshiro(seed: (seed, seed ^ 0x9e37_79b9_7f4a_7c15, ~seed, seed &* 0xbf58_476d_1ce4_e5b9 | 1))
    }

    static let directories = ["a", "b", "a/c", "b/d", "e", "a/c/k"]
    static let names = ["f", "g", "h", "x"]

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &random)] }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &random) < p }

    /// Any path the trace may name: existing or not, directories, files and links.
    mutating func path() -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0...2: return pick(Self.directories)
        case 3: return pick(Self.names)
        case 4: return pick(["lnk", "abs", "dangling", "a/lnk", "loop"])
        default: return pick(Self.directories) + "/" + pick(Self.names)
        }
    }

    /// Writes `layers` lower layers under `base` (`l0` top … `lN` bottom), with directories,
    /// files, symlinks, whiteouts, opaque directories and user xattrs.
    mutating func buildLayers(in base: String, layers: Int) throws -> [String] {
        let cwd = FileDescriptor.currentWorkingDirectory
        var paths: [String] = []
        for index in 0..<layers {
            let root = base + "/l\(index)"
            try cwd.makeDirectory(root, mode: 0o755)
            paths.append(root)
        }
        // Bottom-up, so a whiteout or opaque directory in an upper layer hides something real.
        for index in (0..<layers).reversed() {
            let root = paths[index]
            var made: [String] = []
            for directory in Self.directories where chance(0.6) {
                let parent = parentOf(directory)
                guard parent.isEmpty || made.contains(parent) else { continue }
                try cwd.makeDirectory(root + "/" + directory, mode: pick([0o755, 0o700, 0o775]))
                made.append(directory)
                if index < layers - 1 && chance(0.15) {
                    try ExtendedAttributes.set("trusted.overlay.opaque", value: Array("y".utf8), path: root + "/" + directory)
                }
                if chance(0.2) { try ExtendedAttributes.set("user.tag", value: Array("d\(index)".utf8), path: root + "/" + directory) }
            }
            for directory in [""] + made {
                for name in Self.names where chance(0.45) {
                    let path = root + "/" + (directory.isEmpty ? name : directory + "/" + name)
                    let lowerHasIt = (index + 1..<layers).contains { FileManager.default.fileExists(atPath: paths[$0] + "/" + (directory.isEmpty ? name : directory + "/" + name)) }
                    if lowerHasIt && chance(0.25) {
                        try cwd.makeNode(path, type: .characterDevice, permissions: 0)
                        continue
                    }
                    let size = pick([0, 1, 100, 4096, 70_000])
                    let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive], mode: pick([0o644, 0o600, 0o755]))
                    let byte = UInt8.random(in: 0...255, using: &random)
                    try fd.writeAll([UInt8](repeating: byte, count: size), at: 0)
                    try fd.closeChecked()
                    if chance(0.3) { try ExtendedAttributes.set("user.v", value: Array("\(index)".utf8), path: path) }
                }
            }
            if index == 0 {
                try cwd.makeSymlink(root + "/lnk", target: "a")
                try cwd.makeSymlink(root + "/abs", target: "/b/d")
                try cwd.makeSymlink(root + "/dangling", target: "/e/new")
                try cwd.makeSymlink(root + "/loop", target: "loop")
                if made.contains("a") { try cwd.makeSymlink(root + "/a/lnk", target: "../b") }
            }
        }
        return paths
    }

    private func parentOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// One operation, weighted by family.
    mutating func operation(_ family: TraceFamily) -> ReplayOperation {
        let kinds: [String]
        switch family {
        case .openTruncCreateExcl: kinds = ["open", "open", "open", "read", "stat", "write"]
        case .truncate: kinds = ["truncate", "truncate", "read", "stat", "write"]
        case .renameExdev: kinds = ["rename", "rename", "rename", "mkdir", "readdir", "stat"]
        case .rmdirOpaque: kinds = ["rmdir", "rmdir", "mkdir", "mkdir", "readdir", "unlink", "open"]
        case .hardLinks: kinds = ["link", "link", "write", "read", "unlink", "stat", "chmod"]
        case .unlinkWhiteouts: kinds = ["unlink", "unlink", "readdir", "open", "stat", "rename"]
        case .createThroughSymlink: kinds = ["open", "open", "symlink", "write", "readdir", "stat"]
        case .massRenames: kinds = ["rename", "rename", "rename", "rename", "readdir"]
        case .mixed:
            kinds = ["open", "write", "read", "truncate", "unlink", "rmdir", "stat", "readdir", "mkdir", "chmod", "chown",
                     "utimes", "rename", "link", "symlink", "setxattr", "removexattr"]
        }
        switch pick(kinds) {
        case "open":
            var flags: [String] = []
            for flag in ["read", "write", "trunc", "create", "excl", "append"] where chance(0.35) { flags.append(flag) }
            return .open(path: path(), flags: flags, mode: pick([0o644, 0o600]))
        case "write":
            return .write(path: path(), offset: Int64(pick([0, 1, 4000, 70_000])), length: pick([0, 1, 10, 5000]), byte: UInt8.random(in: 0...255, using: &random))
        case "read": return .read(path: path(), offset: Int64(pick([0, 50, 4090])), length: pick([10, 5000, 100_000]))
        case "truncate": return .truncate(path: path(), size: Int64(pick([0, 1, 5000, 100_000])))
        case "unlink": return .unlink(path: path())
        case "rmdir": return .rmdir(path: path())
        case "stat": return .stat(path: path())
        case "readdir": return .readdir(path: pick(["."] + Self.directories + ["lnk", "abs"]))
        case "mkdir": return .mkdir(path: path(), mode: pick([0o755, 0o700]))
        case "chmod": return .chmod(path: path(), mode: pick([0o600, 0o640, 0o755, 0o4755]))
        case "chown": return .chown(path: path(), uid: pick([0, 1000]), gid: pick([0, 100]))
        case "utimes": return .utimes(path: path(), atime: 1_000_000, mtime: 2_000_000)
        case "rename": return .rename(from: path(), to: path())
        case "link": return .link(from: path(), to: path())
        case "symlink": return .symlink(target: pick(["a", "/b/d/f", "../x", "/nowhere/f", "a/c"]), path: path())
        case "setxattr": return .setxattr(path: path(), name: pick(["user.v", "user.w"]), value: pick(["1", "two"]))
        default: return .removexattr(path: path(), name: pick(["user.v", "user.w", "user.tag"]))
        }
    }

    mutating func trace(_ family: TraceFamily, count: Int) -> [ReplayOperation] {
        (0..<count).map { _ in operation(family) }
    }
}

/// One run of a trace on one backend over freshly generated layers.
struct BackendRun: Equatable {
    var results: [String]
    var dump: [String]
}

enum Differential {
    /// `dumpsViewUpper` lists the view's own upper directory after the merged tree instead of
    /// the stack's (the btrfs backend writes into its container snapshot, not the stack's upper).
    static func run(backend: any OverlayBackend, seed: UInt64, layers: Int, trace: [ReplayOperation],
                    options: OverlayMountOptions = .defaults, dumpsViewUpper: Bool = false, in base: String) throws -> BackendRun {
        let cwd = FileDescriptor.currentWorkingDirectory
        try cwd.makeDirectory(base, mode: 0o755)
        var generator = DifferentialGenerator(seed: seed)
        let lowers = try generator.buildLayers(in: base, layers: layers)
        try cwd.makeDirectory(base + "/upper", mode: 0o755)
        try cwd.makeDirectory(base + "/work", mode: 0o755)
        try cwd.makeDirectory(base + "/scratch", mode: 0o755)
        let stack = try LayerStack.adopting(lower: lowers, upper: base + "/upper", work: base + "/work", scratch: base + "/scratch")
        return try withMergedView(backend, stack, options: options) { view in
            let target = makeReplayTarget(for: view)
            let results = ReplayExecutor(target: target).run(trace)
            return BackendRun(results: results, dump: try TreeDump.dump(target, upperPath: dumpsViewUpper ? view.upperPath : base + "/upper"))
        }
    }

    /// The kernel's and the reference's runs of `trace`, each on its own fresh stack.
    static func compare(seed: UInt64, layers: Int, trace: [ReplayOperation], options: OverlayMountOptions = .defaults) throws -> (BackendRun, BackendRun) {
        try withTemporaryDirectory(prefix: "overlaybench-diff") { base in
            let kernel = try run(backend: KernelOverlayBackend(), seed: seed, layers: layers, trace: trace, options: options, in: base + "/k")
            let reference = try run(backend: ReferenceOverlayBackend(), seed: seed, layers: layers, trace: trace, options: options, in: base + "/r")
            return (kernel, reference)
        }
    }

    /// Runs `trace` on both sides; nil when they agree, else the report of the divergence, with
    /// the shrunk trace when shrinking reproduced it. `label` names the family or the options.
    static func check(_ label: String, seed: UInt64, layers: Int, trace: [ReplayOperation],
                      options: OverlayMountOptions = .defaults) throws -> String? {
        let (kernel, reference) = try compare(seed: seed, layers: layers, trace: trace, options: options)
        guard kernel != reference else { return nil }
        let original = Divergence(trace: trace, kernel: kernel, reference: reference)
        let (shrunk, reruns) = shrink(original, seed: seed, layers: layers, options: options)
        return report(label, seed: seed, layers: layers, original: original, shrunk: shrunk, reruns: reruns)
    }

    /// Both sides' runs of one trace that diverged.
    struct Divergence {
        var trace: [ReplayOperation]
        var kernel: BackendRun
        var reference: BackendRun
    }

    /// The original trace run again and, if it still diverges, cut down one operation at a time
    /// (PropertyBased's `Shrink.omitSingleElement`) while the runs still diverge. Returns the
    /// shortest diverging rerun, or nil when the original's rerun agreed: shrinking a divergence
    /// that does not come back would only collect traces that happened to diverge too, or none.
    static func shrink(_ original: Divergence, seed: UInt64, layers: Int, options: OverlayMountOptions) -> (Divergence?, reruns: Int) {
        func rerun(_ trace: [ReplayOperation]) -> Divergence? {
            guard let (kernel, reference) = try? compare(seed: seed, layers: layers, trace: trace, options: options),
                  kernel != reference else { return nil }
            return Divergence(trace: trace, kernel: kernel, reference: reference)
        }
        var reruns = 1
        guard var current = rerun(original.trace) else { return (nil, reruns) }
        var improved = true
        while improved && reruns < 400 {
            improved = false
            for candidate in Shrink.omitSingleElement(from: current.trace) {
                reruns += 1
                if let smaller = rerun(Array(candidate)) {
                    current = smaller
                    improved = true
                    break
                }
                if reruns >= 400 { break }
            }
        }
        return (current, reruns)
    }

    /// The original runs first, in full; then the shrunk trace, or the statement that the
    /// divergence did not reproduce.
    static func report(_ label: String, seed: UInt64, layers: Int, original: Divergence, shrunk: Divergence?, reruns: Int) -> String {
        var lines = ["reference diverges from kernel: \(label), seed \(seed), \(layers) lower layer(s)",
                     "original trace, \(original.trace.count) operations:"]
        lines += describe(original)
        if let shrunk {
            lines.append("shrunk trace, \(shrunk.trace.count) of \(original.trace.count) operations, still diverging (\(reruns) reruns):")
            lines += describe(shrunk)
        } else {
            lines.append("shrinking did not reproduce the divergence: the original trace, run again on fresh stacks, "
                         + "gave identical results and dumps on both sides, so the divergence is nondeterministic and "
                         + "only the original runs above show it")
        }
        return lines.joined(separator: "\n")
    }

    /// Each operation with both sides' results (`≠` marks a difference), then the dump lines
    /// only one side has, in dump order. `other` names the side compared with the kernel.
    static func describe(_ run: Divergence, other: String = "reference") -> [String] {
        var lines: [String] = []
        for (index, operation) in run.trace.enumerated() {
            let k = run.kernel.results.indices.contains(index) ? run.kernel.results[index] : "-"
            let r = run.reference.results.indices.contains(index) ? run.reference.results[index] : "-"
            let results = k == r ? "both: \(k)" : "kernel: \(k)    \(other): \(r)    ≠"
            let number = String(index)
            lines.append("  " + String(repeating: " ", count: max(0, 3 - number.count)) + number + " \(operation.jsonLine)    \(results)")
        }
        let difference = run.reference.dump.difference(from: run.kernel.dump)
        guard !difference.isEmpty else {
            lines.append("  dumps identical")
            return lines
        }
        lines.append("  dump differences (- kernel only, + \(other) only):")
        var changes: [(offset: Int, text: String)] = []
        for change in difference {
            switch change {
            case .remove(let offset, let line, _): changes.append((offset, "  - " + dumpLine(line, at: offset, in: run.kernel.dump)))
            case .insert(let offset, let line, _): changes.append((offset, "  + " + dumpLine(line, at: offset, in: run.reference.dump)))
            }
        }
        lines += changes.sorted { $0.offset < $1.offset }.map(\.text)
        return lines
    }

    /// A dump line, an xattr line with the entry it belongs to (`  user.v=0` alone could be anyone's).
    static func dumpLine(_ line: String, at offset: Int, in dump: [String]) -> String {
        guard line.hasPrefix("  "), let owner = dump[..<offset].last(where: { !$0.hasPrefix("  ") }) else { return line }
        return line + "    (of " + (owner.split(separator: " ").first.map(String.init) ?? owner) + ")"
    }

    /// The kernel's and the erofs backend's runs of `trace`, each on its own fresh layers (the
    /// erofs side turns them into images); nil when they agree, else the report. Both sides'
    /// directory sizes are masked (``maskingDirectorySize(_:)``); every other field of every
    /// result and of both dumps (merged, then upper) must be identical.
    static func checkErofs(_ label: String, seed: UInt64, layers: Int, trace: [ReplayOperation]) throws -> String? {
        let (kernel, erofs) = try withTemporaryDirectory(prefix: "overlaybench-diff-erofs") { base in
            (try run(backend: KernelOverlayBackend(), seed: seed, layers: layers, trace: trace, in: base + "/k"),
             try run(backend: ErofsOverlayBackend(), seed: seed, layers: layers, trace: trace, in: base + "/e"))
        }
        let divergence = Divergence(trace: trace, kernel: masked(kernel), reference: masked(erofs))
        guard divergence.kernel != divergence.reference else { return nil }
        return (["erofs diverges from kernel: \(label), seed \(seed), \(layers) lower layer(s), trace of \(trace.count) operations:"]
            + describe(divergence, other: "erofs")).joined(separator: "\n")
    }

    /// The kernel overlay's and the btrfs backend's runs of `trace`, each on its own fresh
    /// layers in `filesystem` (a btrfs); nil when they agree, else the report. The kernel mounts
    /// with `redirect_dir=on`, so that a lower directory renames as a btrfs one does instead of
    /// failing with EXDEV. Every result and the merged dumps must be identical (directory sizes
    /// masked: a btrfs directory's size counts its names, and the overlay shows the upper's).
    /// The upper listings differ by design, so they are not compared with each other: instead
    /// the btrfs container snapshot, listed as an upper layer is, must be exactly its merged
    /// view, with no whiteout and no opaque mark.
    static func checkBtrfs(_ label: String, seed: UInt64, layers: Int, trace: [ReplayOperation], in filesystem: String) throws -> String? {
        let kernel = try run(backend: KernelOverlayBackend(), seed: seed, layers: layers, trace: trace,
                             options: try OverlayMountOptions(parsing: "redirect_dir=on"), in: filesystem + "/k\(seed)")
        let btrfs = try run(backend: BtrfsSnapshotBackend(), seed: seed, layers: layers, trace: trace, dumpsViewUpper: true,
                            in: filesystem + "/b\(seed)")
        func merged(_ run: BackendRun) -> BackendRun { BackendRun(results: run.results, dump: Array(run.dump.prefix { $0 != "# upper" })) }
        let snapshot = btrfs.dump.drop { $0 != "# upper" }.dropFirst()
        let mergedDump = merged(btrfs).dump.dropFirst()
        var report: [String] = []
        let divergence = Divergence(trace: trace, kernel: masked(merged(kernel)), reference: masked(merged(btrfs)))
        if divergence.kernel != divergence.reference {
            report += ["btrfs diverges from kernel (redirect_dir=on): \(label), seed \(seed), \(layers) lower layer(s), trace of \(trace.count) operations:"]
                + describe(divergence, other: "btrfs")
        }
        if Array(snapshot) != Array(mergedDump) {
            let first = zip(snapshot, mergedDump).first { $0 != $1 }
            report.append("btrfs: \(label), seed \(seed): the container snapshot (\(snapshot.count) lines) is not its merged view (\(mergedDump.count) lines)"
                + (first.map { ": snapshot \($0.0) against merged \($0.1)" } ?? ""))
        }
        return report.isEmpty ? nil : report.joined(separator: "\n")
    }

    static func masked(_ run: BackendRun) -> BackendRun {
        BackendRun(results: run.results.map(maskingDirectorySize), dump: run.dump.map(maskingDirectorySize))
    }

    /// A `stat` result (`ok d 0755 4096`) or a dump entry (`a/c d 0755 0 0 4096 -`) of a
    /// directory with its size replaced by `*`. A directory's size is its filesystem's own
    /// bookkeeping: ext4 reports a block, EROFS the bytes of its entries, so a merged directory
    /// that only a lower layer holds reports a different size over an image by design.
    static func maskingDirectorySize(_ line: String) -> String {
        var fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        func isMode(_ text: String) -> Bool { text.count == 4 && text.allSatisfy { ("0"..."7").contains($0) } }
        if fields.count == 4, fields[0] == "ok", fields[1] == "d", isMode(fields[2]) {
            fields[3] = "*"
        } else if fields.count >= 7, fields[fields.count - 6] == "d", isMode(fields[fields.count - 5]), fields[fields.count - 1].hasPrefix("-") {
            fields[fields.count - 2] = "*"
        } else {
            return line
        }
        return fields.joined(separator: " ")
    }

    static var environmentCount: Int? {
        ProcessInfo.processInfo.environment["OVERLAYBENCH_DIFF_TRACES"].flatMap(Int.init)
    }

    static var firstSeed: UInt64 {
        ProcessInfo.processInfo.environment["OVERLAYBENCH_DIFF_SEED"].flatMap(UInt64.init) ?? 1
    }
}

@Suite(.serialized, Gate.kernelOverlay.trait)
struct ReferenceDifferentialTests {
    static let operationsPerTrace = 50

    /// Each unionmount-testsuite family, then the mixed one that the big runs use.
    @Test(arguments: TraceFamily.allCases)
    func referenceMatchesKernel(_ family: TraceFamily) throws {
        try Gate.kernelOverlay.require()
        let count = family == .mixed ? (Differential.environmentCount ?? 100) : 15
        let first = Differential.firstSeed &+ (family == .mixed ? 0 : UInt64(TraceFamily.allCases.firstIndex(of: family)!) &* 1_000_000)
        var divergences = 0
        for seed in first..<(first + UInt64(count)) {
            var generator = DifferentialGenerator(seed: seed ^ 0x5eed)
            let layers = 1 + Int(seed % 3)
            let trace = generator.trace(family, count: Self.operationsPerTrace)
            if let report = try Differential.check("family \(family.rawValue)", seed: seed, layers: layers, trace: trace) {
                divergences += 1
                Issue.record(Comment(rawValue: report))
                if divergences >= 3 { break }
            }
        }
        #expect(divergences == 0, "seeds \(first)..<\(first + UInt64(count)), \(Self.operationsPerTrace) operations each")
    }

    /// The erofs backend against the kernel, per unionmount family: the same layers as images
    /// must give the same per-operation results and the same merged and upper dumps.
    @Test(.enabled(if: Gate.erofs.shouldRun, "needs \(Gate.erofs.name): \(Gate.erofs.reason)"), arguments: TraceFamily.allCases)
    func erofsMatchesKernel(_ family: TraceFamily) throws {
        try Gate.erofs.require()
        let count = 8
        let first = Differential.firstSeed &+ 7_000_000 &+ UInt64(TraceFamily.allCases.firstIndex(of: family)!) &* 1_000_000
        var divergences = 0
        for seed in first..<(first + UInt64(count)) {
            var generator = DifferentialGenerator(seed: seed ^ 0x5eed)
            let layers = 1 + Int(seed % 3)
            let trace = generator.trace(family, count: Self.operationsPerTrace)
            if let report = try Differential.checkErofs("family \(family.rawValue)", seed: seed, layers: layers, trace: trace) {
                divergences += 1
                Issue.record(Comment(rawValue: report))
                if divergences >= 3 { break }
            }
        }
        #expect(divergences == 0, "seeds \(first)..<\(first + UInt64(count)), \(Self.operationsPerTrace) operations each")
    }

    /// The btrfs backend against the kernel overlay, per unionmount family, both on one btrfs
    /// made for the test (``Differential/checkBtrfs(_:seed:layers:trace:in:)`` says how the
    /// upper listings are compared).
    @Test(.enabled(if: Gate.btrfs.shouldRun, "needs \(Gate.btrfs.name): \(Gate.btrfs.reason)"), arguments: TraceFamily.allCases)
    func btrfsMatchesKernel(_ family: TraceFamily) throws {
        try Gate.btrfs.require()
        let count = 6
        let first = Differential.firstSeed &+ 17_000_000 &+ UInt64(TraceFamily.allCases.firstIndex(of: family)!) &* 1_000_000
        var divergences = 0
        try withWorkRoot { root in
            try withBtrfs(in: root) { filesystem in
                for seed in first..<(first + UInt64(count)) {
                    var generator = DifferentialGenerator(seed: seed ^ 0x5eed)
                    let layers = 1 + Int(seed % 3)
                    let trace = generator.trace(family, count: Self.operationsPerTrace)
                    if let report = try Differential.checkBtrfs("family \(family.rawValue)", seed: seed, layers: layers, trace: trace, in: filesystem) {
                        divergences += 1
                        Issue.record(Comment(rawValue: report))
                        if divergences >= 3 { break }
                    }
                }
            }
        }
        #expect(divergences == 0, "seeds \(first)..<\(first + UInt64(count)), \(Self.operationsPerTrace) operations each")
    }

    @Test("directory sizes, and only they, are masked for the erofs comparison")
    func directorySizeMask() {
        #expect(Differential.maskingDirectorySize("ok d 0755 4096") == "ok d 0755 *")
        #expect(Differential.maskingDirectorySize("a/c d 0700 0 0 27 -") == "a/c d 0700 0 0 * -")
        #expect(Differential.maskingDirectorySize("ok f 0644 4096") == "ok f 0644 4096")
        #expect(Differential.maskingDirectorySize("a/f f 0644 0 0 100 5d41402abc4b2a76") == "a/f f 0644 0 0 100 5d41402abc4b2a76")
        #expect(Differential.maskingDirectorySize("ok d f g") == "ok d f g", "a readdir listing is not a stat")
        #expect(Differential.maskingDirectorySize("ENOENT") == "ENOENT")
    }

    /// metacopy=on: chmod, chown and friends copy metadata only; data follows on write.
    @Test func referenceMatchesKernelWithMetacopy() throws {
        try Gate.kernelOverlay.require()
        let options = try OverlayMountOptions(parsing: "metacopy=on,redirect_dir=on")
        var divergences = 0
        for seed in UInt64(5000)..<5030 {
            var generator = DifferentialGenerator(seed: seed)
            let trace = (0..<40).map { _ in
                generator.chance(0.5)
                    ? generator.pick([ReplayOperation.chmod(path: generator.path(), mode: 0o600), .chown(path: generator.path(), uid: 1, gid: 1),
                                      .setxattr(path: generator.path(), name: "user.m", value: "1")])
                    : generator.operation(.mixed)
            }
            if let report = try Differential.check("metacopy=on,redirect_dir=on traces", seed: seed, layers: 2, trace: trace, options: options) {
                divergences += 1
                Issue.record(Comment(rawValue: report))
                if divergences >= 2 { break }
            }
        }
        #expect(divergences == 0)
    }

    /// The truncate family once diverged with `EAGAIN` on the kernel side alone, for the
    /// operation below in seed 1000013 and seed 1000001: `a/lnk -> ../b` takes the walk through
    /// `..`, and `openat2(RESOLVE_IN_ROOT)` gives up with `EAGAIN` when a rename or a mount
    /// anywhere on the machine runs during such a walk (`RootedReplayTarget.openInRoot`). Here
    /// that rename happens every time. Below the layer with `a/lnk` the kernel overlay has a
    /// second, empty lower layer served by fuse-overlayfs with its daemon stopped: the merged
    /// lookup of the directory `a` goes on into that layer and waits in its FUSE lookup while a
    /// file is renamed elsewhere, then the daemon goes on. The fuse layer has no `a`, so the
    /// walks after that one never reach it. The kernel side must say what the reference says.
    @Test(.enabled(if: Gate.fuseOverlayfs.shouldRun, "needs fuse-overlayfs: \(Gate.fuseOverlayfs.reason)"),
          arguments: WalkRaceCase.observed)
    func aRenameDuringAWalkThroughDotDotLeavesTheResultAlone(_ race: WalkRaceCase) throws {
        try Gate.kernelOverlay.require()
        try Gate.fuseOverlayfs.require()
        try withTemporaryDirectory(prefix: "overlaybench-walk-race") { base in
            let cwd = FileDescriptor.currentWorkingDirectory
            var directories = ["lower", "lower/a", "empty", "renames"]
            if race.targetIsDirectory { directories.append("lower/b") }
            for side in ["fuse", "kernel", "reference"] { directories += [side, side + "/upper", side + "/work", side + "/scratch"] }
            for directory in directories { try cwd.makeDirectory(base + "/" + directory, mode: 0o755) }
            try cwd.makeSymlink(base + "/lower/a/lnk", target: "../b")
            try FileDescriptor.open(base + "/renames/x", [.writeOnly, .create, .exclusive], mode: 0o644).closeChecked()
            func stack(_ side: String, lower: [String]) throws -> LayerStack {
                try LayerStack.adopting(lower: lower, upper: base + "/\(side)/upper", work: base + "/\(side)/work", scratch: base + "/\(side)/scratch")
            }

            let referenceStack = try stack("reference", lower: [base + "/lower", base + "/empty"])
            let expected = try withMergedView(ReferenceOverlayBackend(), referenceStack, options: .defaults) { view in
                ReplayExecutor(target: makeReplayTarget(for: view)).run(race.operation)
            }
            let fuseStack = try stack("fuse", lower: [base + "/empty"])
            let (result, walkWaited) = try withMergedView(FuseOverlayBackend(), fuseStack, options: .defaults) { fuse in
                let daemon = try #require(fuse as? FuseMergedView).pid
                let kernelStack = try stack("kernel", lower: [base + "/lower", fuseStack.mergedPath])
                return try withMergedView(KernelOverlayBackend(), kernelStack, options: .defaults) { view in
                    try WalkRace.run(race.operation, root: view.root, daemon: daemon, renaming: base + "/renames")
                }
            }
            #expect(walkWaited, "the walk never waited in the FUSE lookup, so no rename ran during it")
            #expect(result == expected, "kernel side \(result), reference \(expected)")
        }
    }

    /// A lower layer holds `evil -> /etc` and `up -> ../../..`; writing through them changes
    /// nothing outside the layers, on the kernel and on the reference alike.
    @Test func symlinksCannotEscapeTheMergedRoot() throws {
        try Gate.kernelOverlay.require()
        let passwd = try String(contentsOfFile: "/etc/passwd", encoding: .utf8)
        let outside = ["/x", "/var/x", "/var/tmp/x", "/etc/x", "/y"]
        let before = outside.filter { FileManager.default.fileExists(atPath: $0) }
        let trace: [ReplayOperation] = [
            // The merged root has no /etc yet: ENOENT, not the host's /etc.
            .open(path: "evil/passwd", flags: ["write", "create"], mode: 0o644),
            .mkdir(path: "etc", mode: 0o755),
            .open(path: "evil/passwd", flags: ["write", "create"], mode: 0o644),
            .write(path: "evil/passwd", offset: 0, length: 5, byte: 0x41),
            .open(path: "up/x", flags: ["write", "create"], mode: 0o644),
            .write(path: "up/x", offset: 0, length: 5, byte: 0x42),
            .mkdir(path: "up/y", mode: 0o755),
            .truncate(path: "evil/passwd", size: 0),
            .read(path: "evil/passwd", offset: 0, length: 100),
            .readdir(path: "up"),
        ]
        try withTemporaryDirectory(prefix: "overlaybench-escape") { base in
            var results: [BackendRun] = []
            for (name, backend) in [("k", KernelOverlayBackend() as any OverlayBackend), ("r", ReferenceOverlayBackend())] {
                let root = base + "/" + name
                let cwd = FileDescriptor.currentWorkingDirectory
                for directory in [root, root + "/lower", root + "/upper", root + "/work", root + "/scratch"] {
                    try cwd.makeDirectory(directory, mode: 0o755)
                }
                try cwd.makeSymlink(root + "/lower/evil", target: "/etc")
                try cwd.makeSymlink(root + "/lower/up", target: "../../..")
                let stack = try LayerStack.adopting(lower: [root + "/lower"], upper: root + "/upper", work: root + "/work", scratch: root + "/scratch")
                results.append(try withMergedView(backend, stack, options: .defaults) { view in
                    let target = makeReplayTarget(for: view)
                    let run = ReplayExecutor(target: target).run(trace)
                    return BackendRun(results: run, dump: try TreeDump.dump(target, upperPath: root + "/upper"))
                })
            }
            #expect(results[0] == results[1])
            #expect(results[1].results.prefix(3) == ["ENOENT", "ok", "ok"], "evil resolves inside the merged root")
            #expect(results[1].dump.contains { $0.hasPrefix("etc/passwd f") }, "the file appears as /etc/passwd of the merged root")
        }
        #expect(try String(contentsOfFile: "/etc/passwd", encoding: .utf8) == passwd)
        #expect(outside.filter { FileManager.default.fileExists(atPath: $0) } == before)
    }
}

/// One operation that diverged through `a/lnk -> ../b`, and whether `b` is a directory there.
struct WalkRaceCase: Sendable, CustomTestStringConvertible {
    var seed: UInt64
    var operation: ReplayOperation
    var targetIsDirectory: Bool

    /// Operation 5 of the two truncate-family seeds that diverged.
    static let observed = [
        WalkRaceCase(seed: 1_000_013, operation: .write(path: "a/lnk", offset: 1, length: 0, byte: 224), targetIsDirectory: true),
        WalkRaceCase(seed: 1_000_001, operation: .truncate(path: "a/lnk", size: 100_000), targetIsDirectory: false),
    ]

    var testDescription: String { "seed \(seed): \(operation.jsonLine)" }
}

/// Replays one operation on a thread of its own while a fuse daemon below the root is stopped,
/// renames a file once that thread waits for the daemon, then lets the daemon go on.
enum WalkRace {
    /// What the walking thread tells the test: its `/proc` task, and the operation's result.
    private final class Walker: Sendable {
        let task = Mutex<String?>(nil)
        let result = Mutex<String?>(nil)
        let done = DispatchSemaphore(value: 0)
    }

    /// The operation's result, and whether its walk was seen waiting in the FUSE request
    /// (`request_wait_answer` in its `/proc/…/wchan`) when the rename ran.
    static func run(_ operation: ReplayOperation, root: FileDescriptor, daemon: Int32, renaming directory: String) throws -> (String, waited: Bool) {
        let walker = Walker()
        try sendSignal(SIGSTOP, to: daemon)
        var resumed = false
        var finished = false
        defer {
            // Whatever failed, the daemon must run again and the walk finish before the root closes.
            if !resumed { try? sendSignal(SIGCONT, to: daemon) }
            if !finished { walker.done.wait() }
        }
        Thread.detachNewThread {
            walker.task.withLock { $0 = try? FileDescriptor.currentWorkingDirectory.readSymlink("/proc/thread-self") }
            let result = ReplayExecutor(target: RootedReplayTarget(root: root)).run(operation)
            walker.result.withLock { $0 = result }
            walker.done.signal()
        }
        let waited = waitUntilWaitingForFuse(walker)
        let renames = try FileDescriptor.open(directory, [.path, .directory])
        defer { renames.closeIgnoringErrors() }
        // Any rename on the system bumps the global rename_lock sequence the walk checks at `..`.
        try renames.rename("x", to: "y", in: renames)
        try sendSignal(SIGCONT, to: daemon)
        resumed = true
        walker.done.wait()
        finished = true
        return (walker.result.withLock { $0 } ?? "no result", waited)
    }

    /// Polls the walker's wchan; false if it is not waiting on FUSE within a minute (a liveness
    /// bound for a stuck machine, not a measurement).
    private static func waitUntilWaitingForFuse(_ walker: Walker) -> Bool {
        let deadline = MonotonicClock.now() + 60_000_000_000
        while MonotonicClock.now() < deadline {
            if let task = walker.task.withLock({ $0 }),
               let wchan = try? FileSystem.readFile("/proc/\(task)/wchan"),
               String(decoding: wchan, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "request_wait_answer" {
                return true
            }
            Thread.sleep(forTimeInterval: 0.001)
        }
        return false
    }
}
