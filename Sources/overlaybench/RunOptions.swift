import ArgumentParser
import OverlayCore
import OverlaySuite

/// Options every probe shares.
struct RunOptions: ParsableArguments {
    @Option(name: .long, help: "Comma-separated backends: kernel (overlay mount), fuse (fuse-overlayfs), plain (flattened copy, like Docker's vfs), reference (the in-process Swift overlay, copy-up on io_uring), erofs (each lower layer an EROFS image under a kernel overlay, like containerd's erofs snapshotter), btrfs (each layer a btrfs snapshot, the container a writable one, like Docker's btrfs driver; needs --fs btrfs or a work root on btrfs).")
    var backend: String = "kernel"

    @Option(name: .long, help: "The copy engine of the reference backend's copy-up: \(CopyEngineKind.allCases.map(\.identifier).joined(separator: ", ")).")
    var referenceEngine: String = CopyEngineKind.ioURing.identifier

    @Option(name: .long, help: "Where trees and mounts live (created and marked by overlaybench).")
    var workRoot: String = WorkRoot.defaultPath

    @Option(name: .long, help: "Write the JSON result file here (atomically).")
    var out: String?

    @Flag(name: .long, help: "Replace --out if it exists.")
    var force = false

    @Flag(name: .long, help: "Print the JSON result on stdout instead of the table.")
    var json = false

    @Flag(name: .long, help: "Print one wide table of every measurement with every varying parameter, instead of one table per probe.")
    var wide = false

    @Option(name: .long, parsing: .unconditional, help: "Samples per configuration (1-\(OptionValues.maximumSamples)).")
    var samples: Int = 10

    @Option(name: .long, parsing: .unconditional, help: "Discarded warm-up samples per configuration.")
    var warmup: Int = 1

    @Option(name: .long, help: "Cache state(s): warm, cold, or warm,cold.")
    var cache: String = "warm"

    @Option(name: .long, help: "Overlay mount option sets separated by ';' and interleaved, e.g. ';volatile;metacopy=on' (an empty set is the defaults).")
    var mountOptions: String = ""

    @Option(name: .long, help: "Comma-separated backing filesystems: root (the work root's own), ext4, xfs, xfs-noreflink, btrfs (on loop devices), tmpfs.")
    var fs: String = "root"

    @Option(name: .long, parsing: .unconditional, help: "Size of each filesystem made for --fs (a sparse image).")
    var fsSize: String = "16GiB"

    @Option(name: .long, parsing: .unconditional, help: "Seed for generated trees and content.")
    var seed: UInt64 = 1

    @Option(name: .long, parsing: .unconditional, help: "Seed of the shuffled order of sizes and variants within each round (recorded as shuffleSeed).")
    var shuffleSeed: UInt64 = 1

    @Flag(name: .long, help: "Keep the declared order within each round instead of a seeded shuffle.")
    var noShuffle = false

    @Flag(name: .long, inversion: .prefixedNo, help: "Before each timed call, syncfs the upper's and lowers' filesystems and wait until their devices have nothing in flight (default: where the call writes). --no-quiesce measures back to back.")
    var quiesce: Bool?

    @Flag(name: .long, inversion: .prefixedNo, help: "After each sample, fdatasync and drop from the page cache the files it read and wrote, so no sample allocates memory after what earlier samples left cached (default: where the call writes; recorded as pages=released).")
    var releasePages: Bool?

    @Option(name: .long, help: "Idle time before each timed call, with a unit (500us, 2ms; 0 = none). Where a backend hands work to other threads (fuse), an idle millisecond lets the scheduler wake them next to the caller.")
    var settle: String = "0"

    @Option(name: .long, parsing: .unconditional, help: "Run the whole plan N times in one invocation and report each figure's between-repeat CV of the p50s (a warning above 10%).")
    var `repeat`: Int = 1

    @Flag(name: .long, help: "Keep the generated trees after the run (mounts are always removed).")
    var keep = false

    @Flag(name: .long, help: "Without root: run in a new user namespace (unshare -Urm), where the kernel overlay mounts with userxattr (kernel 5.11+); cold caches are unavailable there.")
    var rootless = false

    @Flag(name: .shortAndLong, help: "Only errors on stderr.")
    var quiet = false

    func validate() throws {
        try OptionValues.check(samples, "--samples", in: 1...OptionValues.maximumSamples)
        try OptionValues.check(warmup, "--warmup", in: 0...OptionValues.maximumSamples)
        try validateSampling()
        guard CopyEngineKind(rawValue: referenceEngine) != nil else {
            throw ValidationError("--reference-engine: unknown copy engine \(referenceEngine) (known: \(CopyEngineKind.allCases.map(\.identifier).joined(separator: ", ")))")
        }
        do {
            _ = try mountOptionSets()
            _ = try CacheState.parseList(cache)
            _ = try backends()
        } catch {
            throw ValidationError("\(error)")
        }
        try validateMatrix()
        try validateBackingFilesystems()
    }

    /// A backend that needs its layers on one filesystem kind (btrfs) refuses, in one line, a
    /// `--fs` entry that is not it: a made filesystem of another kind, or a work root elsewhere.
    func validateBackingFilesystems() throws {
        for backend in try backends() {
            guard let needed = backend.capabilities.backingFilesystem else { continue }
            for kind in try filesystems() where kind != needed {
                if kind == .root, needed == .btrfs, BtrfsSnapshotBackend.unsupportedLocation(workRoot) == nil { continue }
                let place = kind == .root ? "the work root \(workRoot)" : "--fs \(kind.rawValue)"
                throw ValidationError("--backend \(backend.identifier) needs \(needed.rawValue), and \(place) is not: give --fs \(needed.rawValue)\(kind == .root ? " (made on a loop device) or a --work-root on \(needed.rawValue)" : "")")
            }
        }
    }

    func backends() throws -> [any OverlayBackend] {
        try backend.split(separator: ",", omittingEmptySubsequences: false).map { name in
            try BackendKind.make(identifier: String(name), referenceCopyEngine: referenceEngine)
        }
    }
}
