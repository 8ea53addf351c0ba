import Foundation
import OverlayCore
import OverlaySystem
import Testing

/// A capability an integration test needs (root, a kernel overlay, io_uring, …).
///
/// Outside CI a missing capability skips the test with its reason. With `CI` set the test runs
/// regardless and ``require()`` fails it with the reason: CI must never pass by skipping.
public struct Gate: Sendable {
    public let name: String
    public let reason: String
    private let probe: @Sendable () -> Bool

    public init(_ name: String, reason: String, probe: @escaping @Sendable () -> Bool) {
        self.name = name
        self.reason = reason
        self.probe = probe
    }

    /// True when `CI` is set in the environment.
    public static var inCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !value.isEmpty && value != "0" && value.lowercased() != "false"
    }

    public var isAvailable: Bool { probe() }

    /// Whether the test should run: the capability is here, or we are in CI (where it must be).
    public var shouldRun: Bool { Self.inCI || isAvailable }

    /// The swift-testing trait that gates a test or suite on this capability.
    public var trait: ConditionTrait {
        .enabled(if: shouldRun, Comment(rawValue: "needs \(name): \(reason)"))
    }

    /// Fails the calling test (by throwing) when the capability is missing; in CI that is the point.
    public func require(sourceLocation: SourceLocation = #_sourceLocation) throws {
        if !isAvailable {
            throw GateUnavailable(description: "\(name) is unavailable: \(reason)\(Self.inCI ? " (CI is set, so this fails instead of skipping)" : "")")
        }
    }

    // MARK: - The gates

    public static let root = Gate("root", reason: "mounting and drop_caches need uid 0") { Host.isRoot }

    public static let kernelOverlay = Gate("a kernel overlay mount", reason: "needs root and 'overlay' in /proc/filesystems") {
        Host.isRoot && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8))?.contains("\toverlay\n") ?? false)
    }

    public static let ioURing = Gate("io_uring", reason: "io_uring_queue_init must succeed (kernel.io_uring_disabled = 0)") {
        (try? IOURing(entries: 4)) != nil
    }

    public static let idmappedMounts = Gate("idmapped mounts", reason: "needs root and kernel 5.19+ (mount_setattr MOUNT_ATTR_IDMAP, and idmapped layers in an overlay)") {
        let kernel = Host.kernelVersion()
        return Host.isRoot && (kernel.major > 5 || (kernel.major == 5 && kernel.minor >= 19))
    }

    public static let fuseOverlayfs = Gate("fuse-overlayfs", reason: "needs root, /dev/fuse and the fuse-overlayfs binary (apt: fuse-overlayfs)") {
        Host.isRoot && FileManager.default.fileExists(atPath: "/dev/fuse")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/fuse-overlayfs")
    }

    public static let prometheusClient = Gate("prometheus_client", reason: "the OpenMetrics export is checked with prometheus_client's parser (pip: prometheus_client; make test installs it)") {
        guard let python = ChildProcess.findExecutable("python3") else { return false }
        return (try? ChildProcess.run(python, ["-c", "import prometheus_client.openmetrics.parser"]))?.exit.succeeded ?? false
    }

    public static let loopDevices = Gate("loop devices", reason: "needs root, /dev/loop-control and losetup") {
        Host.isRoot && FileManager.default.fileExists(atPath: "/dev/loop-control")
    }

    public static let erofs = Gate("the erofs backend", reason: "needs root, overlay and erofs in /proc/filesystems and mkfs.erofs (apt: erofs-utils; make test installs it)") {
        ErofsOverlayBackend().availability() == .available
    }
}

extension Gate {
    /// The btrfs backend on a btrfs made for the test: root, btrfs in the kernel, mkfs.btrfs and loop devices.
    public static let btrfs = Gate("the btrfs backend", reason: "needs root, btrfs in /proc/filesystems, loop devices and mkfs.btrfs (apt: btrfs-progs; make test installs it)") {
        BtrfsSnapshotBackend().availability() == .available && LoopFilesystem.availability(of: .btrfs) == .available
    }
}

public struct GateUnavailable: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// A fresh directory with a random name under `/var/tmp`, removed (recursively, without
/// following symlinks) after `body`.
public func withTemporaryDirectory<T>(
    prefix: String = "overlaybench-test", _ body: (String) throws -> T
) throws -> T {
    let path = "/var/tmp/\(prefix)-\(UInt64.random(in: 0...UInt64.max).hexString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

extension UInt64 {
    var hexString: String { String(self, radix: 16) }
}
