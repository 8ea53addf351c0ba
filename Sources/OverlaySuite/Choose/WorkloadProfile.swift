import Foundation
import OverlayCore
import OverlaySystem

/// A workload to choose a storage driver for: an image (a generated layer stack) and an
/// operation trace in the replay format, run against the merged view of a fresh container
/// layer. Built-in profiles are generated from a seed; users can bring their own trace and tree.
public struct WorkloadProfile: Sendable {
    public var name: String
    public var summary: String
    /// The image: lower layers, top-first.
    public var spec: LayerStackSpec
    /// Existing lower directories to use instead of generating `spec` (`--tree`).
    public var lowerDirectories: [String]?
    public var operations: [ReplayOperation]
    /// The operations the trace means to fail, by index, with the errno they must meet (a stat
    /// of a name the image lacks meets ENOENT). Any other outcome, or any failure of another
    /// operation, counts as a failed operation.
    public var expectedErrors: [Int: String] = [:]

    public static let builtInNames = ["database", "build", "webapp", "chown-r"]

    public init(name: String, summary: String, spec: LayerStackSpec, lowerDirectories: [String]? = nil, operations: [ReplayOperation]) {
        self.name = name
        self.summary = summary
        self.spec = spec
        self.lowerDirectories = lowerDirectories
        self.operations = operations
    }

    /// A built-in profile by name.
    public static func builtIn(_ name: String, seed: UInt64 = 1) throws(ProbeError) -> WorkloadProfile {
        var random = SplitMix64(seed: seed ^ 0xC400_5E00)
        switch name {
        case "database": return database(seed: seed, random: &random)
        case "build": return build(seed: seed, random: &random)
        case "webapp": return webapp(seed: seed, random: &random)
        case "chown-r": return chownR(seed: seed, random: &random)
        default:
            throw .invalidArgument("profile", "\(name) is not a profile (known: \(builtInNames.joined(separator: ", ")))")
        }
    }

    /// The trace as JSON Lines, for `--trace` files and for inspection.
    public var traceText: String { operations.map(\.jsonLine).joined(separator: "\n") + "\n" }

    /// `database`: four 32 MiB table files and a log in the image; random 4 KiB writes and reads
    /// in place. The first write to each table copies up the whole file.
    static func database(seed: UInt64, random: inout SplitMix64) -> WorkloadProfile {
        let tableSize: Int64 = 32 << 20
        var files = (0..<4).map { FileSpec(path: "var/lib/db/table\($0).dat", size: tableSize, layer: 1) }
        files.append(FileSpec(path: "var/lib/db/wal.log", size: 1 << 20, layer: 0))
        files.append(FileSpec(path: "usr/bin/dbserver", size: 8 << 20, layer: 1))
        var operations: [ReplayOperation] = [.read(path: "usr/bin/dbserver", offset: 0, length: 1 << 20)]
        for i in 0..<400 {
            let table = "var/lib/db/table\(Int(random.next() % 4)).dat"
            let offset = Int64(random.next() % UInt64(tableSize / 4096)) * 4096
            if i % 3 == 0 {
                operations.append(.read(path: table, offset: offset, length: 4096))
            } else {
                operations.append(.write(path: table, offset: offset, length: 4096, byte: UInt8(i % 251)))
                operations.append(.write(path: "var/lib/db/wal.log", offset: Int64(i) * 512, length: 512, byte: 0x57))
            }
        }
        return WorkloadProfile(
            name: "database", summary: "a few large files, random 4 KiB writes and reads in place",
            spec: LayerStackSpec(layerCount: 2, seed: seed, files: files), operations: operations)
    }

    /// `build`: a source tree of 600 small files; the trace reads each source, writes an object
    /// beside it, links, then deletes the objects and the scratch directories.
    static func build(seed: UInt64, random: inout SplitMix64) -> WorkloadProfile {
        var files: [FileSpec] = []
        for i in 0..<600 {
            files.append(FileSpec(path: "src/m\(i % 20)/f\(i).c", size: Int64(1024 + random.next() % 15_360), layer: i % 3))
        }
        files.append(FileSpec(path: "usr/bin/cc", size: 4 << 20, layer: 2))
        var operations: [ReplayOperation] = [.mkdir(path: "build", mode: 0o755)]
        for m in 0..<20 { operations.append(.mkdir(path: "build/m\(m)", mode: 0o755)) }
        for i in 0..<600 {
            operations.append(.stat(path: "src/m\(i % 20)/f\(i).c"))
            operations.append(.read(path: "src/m\(i % 20)/f\(i).c", offset: 0, length: 16_384))
            operations.append(.open(path: "build/m\(i % 20)/f\(i).o", flags: ["write", "create", "trunc"], mode: 0o644))
            operations.append(.write(path: "build/m\(i % 20)/f\(i).o", offset: 0, length: 8192, byte: UInt8(i % 251)))
        }
        for m in 0..<20 {
            operations.append(.readdir(path: "build/m\(m)"))
            operations.append(.open(path: "build/m\(m).a", flags: ["write", "create", "trunc"], mode: 0o644))
            operations.append(.write(path: "build/m\(m).a", offset: 0, length: 65_536, byte: 0x41))
        }
        // `make clean`: every object and scratch directory goes again.
        for i in 0..<600 { operations.append(.unlink(path: "build/m\(i % 20)/f\(i).o")) }
        for m in 0..<20 { operations.append(.rmdir(path: "build/m\(m)")) }
        // Touching sources (an editor's save) copies them up.
        for i in stride(from: 0, to: 600, by: 10) {
            operations.append(.utimes(path: "src/m\(i % 20)/f\(i).c", atime: 1_700_000_000, mtime: 1_700_000_000))
        }
        return WorkloadProfile(
            name: "build", summary: "many small files created, written and deleted; sources read and touched",
            spec: LayerStackSpec(layerCount: 3, seed: seed, files: files), operations: operations)
    }

    /// `webapp`: 800 files spread over a 24-layer image; the trace is 95% stat and reads, plus
    /// log appends and a few config rewrites.
    static func webapp(seed: UInt64, random: inout SplitMix64) -> WorkloadProfile {
        let layers = 24
        var files: [FileSpec] = []
        for i in 0..<800 {
            files.append(FileSpec(path: "app/node_modules/p\(i % 40)/lib/f\(i).js", size: Int64(512 + random.next() % 32_768), layer: i % layers))
        }
        files.append(FileSpec(path: "etc/app/config.json", size: 8192, layer: layers - 1))
        var operations: [ReplayOperation] = [.mkdir(path: "var", mode: 0o755), .mkdir(path: "var/log", mode: 0o755)]
        operations.append(.open(path: "var/log/access.log", flags: ["write", "create"], mode: 0o644))
        var expected: [Int: String] = [:]
        for i in 0..<3000 {
            let file = Int(random.next() % 800)
            let path = "app/node_modules/p\(file % 40)/lib/f\(file).js"
            switch i % 20 {
            case 0: operations.append(.write(path: "var/log/access.log", offset: Int64(i) * 128, length: 128, byte: 0x4C))
            case 1, 2, 3, 4, 5, 6, 7, 8: operations.append(.stat(path: path))
            case 9:
                expected[operations.count] = Errno.noSuchFileOrDirectory.name
                operations.append(.stat(path: "app/node_modules/p\(file % 40)/lib/missing\(i).js"))
            case 19 where i % 500 == 19: operations.append(.write(path: "etc/app/config.json", offset: 0, length: 64, byte: 0x7B))
            default: operations.append(.read(path: path, offset: 0, length: 4096))
            }
        }
        var profile = WorkloadProfile(
            name: "webapp", summary: "mostly stat and reads across a 24-layer image, log appends",
            spec: LayerStackSpec(layerCount: layers, seed: seed, files: files), operations: operations)
        profile.expectedErrors = expected
        return profile
    }

    /// `chown-r`: `chown -R` and `chmod -R` over a 1500-file image with some large files: every
    /// file is copied up, in full unless `metacopy=on`.
    static func chownR(seed: UInt64, random: inout SplitMix64) -> WorkloadProfile {
        var files: [FileSpec] = []
        for i in 0..<1500 {
            files.append(FileSpec(path: "srv/data/d\(i % 30)/f\(i)", size: Int64(4096 + random.next() % 61_440), layer: i % 2))
        }
        for i in 0..<6 { files.append(FileSpec(path: "srv/data/blob\(i)", size: 16 << 20, layer: 1)) }
        var operations: [ReplayOperation] = [.chown(path: "srv", uid: 1000, gid: 1000), .chown(path: "srv/data", uid: 1000, gid: 1000)]
        for d in 0..<30 { operations.append(.chown(path: "srv/data/d\(d)", uid: 1000, gid: 1000)) }
        for i in 0..<1500 { operations.append(.chown(path: "srv/data/d\(i % 30)/f\(i)", uid: 1000, gid: 1000)) }
        for i in 0..<6 { operations.append(.chown(path: "srv/data/blob\(i)", uid: 1000, gid: 1000)) }
        for i in stride(from: 0, to: 1500, by: 3) { operations.append(.chmod(path: "srv/data/d\(i % 30)/f\(i)", mode: 0o640)) }
        return WorkloadProfile(
            name: "chown-r", summary: "a metadata storm: chown -R and chmod over a whole image",
            spec: LayerStackSpec(layerCount: 2, seed: seed, files: files), operations: operations)
    }
}
