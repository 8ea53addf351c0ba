import Foundation
import OverlayCore
import OverlaySystem

/// Where and how a run happened: everything needed to judge whether two results are comparable.
public struct RunEnvironment: Codable, Sendable {
    public static let overlayBenchVersion = "0.1.0"

    /// One overlay mount the run made: requested and effective options, and the method.
    public struct MountRecord: Codable, Sendable, Hashable {
        public var backend: String
        public var probe: String
        public var requestedOptions: String
        /// The superblock options from `/proc/self/mountinfo` (empty for non-mount backends).
        public var effectiveOptions: String
        public var method: String
        public var layers: Int
        /// What setting the view up took, outside the clock (``MergedView/setupFacts``: each
        /// EROFS image's size and build time); absent for backends that report none.
        public var setup: [SetupFact]?

        public init(backend: String, probe: String, requestedOptions: String, effectiveOptions: String, method: String,
                    layers: Int, setup: [SetupFact] = []) {
            self.backend = backend
            self.probe = probe
            self.requestedOptions = requestedOptions
            self.effectiveOptions = effectiveOptions
            self.method = method
            self.layers = layers
            self.setup = setup.isEmpty ? nil : setup
        }

        /// `16 erofs images, 1.2 MiB in all (64 KiB to 128 KiB), built in 41 ms (1.9 to 4.4 ms
        /// each)`: the setup facts summed per kind, or nil when there are none.
        public var setupSummary: String? {
            guard let setup, !setup.isEmpty else { return nil }
            let bytes = setup.filter { $0.name == "erofsImageBytes" }.map(\.value)
            let times = setup.filter { $0.name == "erofsBuildTime" }.map(\.value)
            var parts: [String] = []
            if let low = bytes.min(), let high = bytes.max() {
                let methods = Set(setup.filter { $0.name == "erofsImageBytes" }.compactMap(\.note).map { $0.hasPrefix("loop") ? "loop" : $0 })
                parts.append("\(bytes.count) erofs image(s) (\(methods.sorted().joined(separator: ", "))), \(ByteCount.format(Int64(bytes.reduce(0, +)))) in all (\(ByteCount.format(Int64(low))) to \(ByteCount.format(Int64(high))))")
            }
            if let low = times.min(), let high = times.max() {
                parts.append("built in \(HumanUnits.duration(nanoseconds: times.reduce(0, +))) (\(HumanUnits.duration(nanoseconds: low)) to \(HumanUnits.duration(nanoseconds: high)) each)")
            }
            let snapshots = setup.filter { $0.name == "btrfsSnapshotTime" }.map(\.value)
            if let low = snapshots.min(), let high = snapshots.max() {
                let cloned = setup.filter { $0.name == "btrfsClonedFiles" }.map(\.value).reduce(0, +)
                let copied = setup.filter { $0.name == "btrfsCopiedFiles" }.map(\.value).reduce(0, +)
                let deleted = setup.filter { $0.name == "btrfsDeletions" }.map(\.value).reduce(0, +)
                parts.append("\(snapshots.count) btrfs subvolume(s) in \(HumanUnits.duration(nanoseconds: snapshots.reduce(0, +))) (\(HumanUnits.duration(nanoseconds: low)) to \(HumanUnits.duration(nanoseconds: high)) each), \(Int(cloned)) file(s) cloned, \(Int(copied)) copied, \(Int(deleted)) whiteout/opaque deletion(s)")
            }
            let known: Set<String> = ["erofsImageBytes", "erofsBuildTime", "btrfsSnapshotTime", "btrfsClonedFiles", "btrfsCopiedFiles", "btrfsDeletions"]
            for fact in setup where !known.contains(fact.name) {
                parts.append("\(fact.name)\(fact.layer.map { "[\($0)]" } ?? "") = \(fact.value) \(fact.unit)")
            }
            return parts.joined(separator: ", ")
        }
    }

    /// The filesystem under the work root (or under a loop-device filesystem the run made).
    public struct BackingFilesystem: Codable, Sendable, Hashable {
        public var name: String
        public var type: String
        public var source: String
        public var mountPoint: String
        public var mountOptions: String
        public var superOptions: String
        public var mkfsOptions: String?
        /// ext3/ext4 only: whether it has a journal (see ``MountEntry/hasJournal``).
        public var journal: Bool?
        /// A filesystem on a loop device: whether the device does direct I/O to its image file
        /// (the run asks for it; nil when not on a loop device or unknown).
        public var loopDirectIO: Bool? = nil
    }

    public var kernel: String
    public var kernelBuild: String
    public var architecture: String
    public var hostname: String
    public var cpuModel: String
    public var cpuCount: Int
    public var memoryBytes: Int64
    /// `/sys/module/overlay/parameters/*`.
    public var overlayParameters: [String: String]
    public var mounts: [MountRecord]
    public var backingFilesystems: [BackingFilesystem]
    public var workRoot: String
    public var overlayBenchVersion: String
    public var gitRevision: String
    public var liburing: String?
    public var startTime: String
    public var endTime: String?
    public var commandLine: [String]

    /// Reads the host's facts now.
    public static func capture(workRoot: String, commandLine: [String]) -> RunEnvironment {
        let uname = Host.uname()
        let table = MountTable.current()
        var backing: [BackingFilesystem] = []
        if let entry = table.backingMount(of: workRoot) {
            backing.append(BackingFilesystem(
                name: "root", type: entry.fileSystemType, source: entry.source, mountPoint: entry.mountPoint,
                mountOptions: entry.mountOptions, superOptions: entry.superOptions, mkfsOptions: nil,
                journal: entry.hasJournal))
        }
        return RunEnvironment(
            kernel: uname.release, kernelBuild: uname.version, architecture: uname.machine, hostname: uname.nodeName,
            cpuModel: cpuModel(), cpuCount: Host.cpuCount, memoryBytes: memoryBytes(),
            overlayParameters: overlayParameters(), mounts: [], backingFilesystems: backing, workRoot: workRoot,
            overlayBenchVersion: overlayBenchVersion, gitRevision: gitRevision(),
            liburing: Host.liburingPath.map(liburingVersion(fromPath:)),
            startTime: timestamp(), endTime: nil, commandLine: commandLine)
    }

    public static func timestamp(_ date: Date = Date()) -> String {
        ISO8601DateFormatter().string(from: date)
    }

    static func cpuModel() -> String {
        let text = (try? FileSystem.readText("/proc/cpuinfo")) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            if let value = line.split(separator: ":", maxSplits: 1).last { return value.trimmingCharacters(in: .whitespaces) }
        }
        return "unknown"
    }

    static func memoryBytes() -> Int64 {
        let text = (try? FileSystem.readText("/proc/meminfo")) ?? ""
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let kib = line.split(separator: " ").compactMap { Int64($0) }.first ?? 0
            return kib * 1024
        }
        return 0
    }

    /// The overlay module's parameters, e.g. `metacopy: N`.
    public static func overlayParameters() -> [String: String] {
        let directory = "/sys/module/overlay/parameters"
        let names = (try? FileSystem.entries(directory)) ?? []
        var result: [String: String] = [:]
        for name in names {
            if let value = try? FileSystem.readText(directory + "/" + name) {
                result[name] = value.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return result
    }

    /// `liburing.so.2.3` → `2.3`.
    static func liburingVersion(fromPath path: String) -> String {
        let resolved = (try? Host.realPath(path)) ?? path
        let file = (resolved as NSString).lastPathComponent
        if let range = file.range(of: ".so.") { return String(file[range.upperBound...]) }
        return file
    }

    /// The git revision of the source tree this binary was built from (found from `#filePath`),
    /// with `-dirty` never guessed: only what `.git` records.
    static func gitRevision(filePath: String = #filePath) -> String {
        var directory = (filePath as NSString).deletingLastPathComponent
        while directory != "/" && !directory.isEmpty {
            let git = directory + "/.git"
            if FileSystem.exists(git) { return readRevision(gitDirectory: git) ?? "unknown" }
            directory = (directory as NSString).deletingLastPathComponent
        }
        return "unknown"
    }

    private static func readRevision(gitDirectory: String) -> String? {
        guard let head = try? FileSystem.readText(gitDirectory + "/HEAD")
            .trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        guard head.hasPrefix("ref: ") else { return head }
        let ref = String(head.dropFirst(5))
        if let value = try? FileSystem.readText(gitDirectory + "/" + ref) {
            return value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let packed = (try? FileSystem.readText(gitDirectory + "/packed-refs")) ?? ""
        for line in packed.split(separator: "\n") where line.hasSuffix(" " + ref) {
            return String(line.split(separator: " ")[0])
        }
        return nil
    }
}
