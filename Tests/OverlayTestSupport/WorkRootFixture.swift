import Foundation
import OverlayCore
import OverlaySystem
import Testing

/// A fresh work root with a random name under `/var/tmp` (optionally with awkward characters in
/// its name). A mount still below it after `body` fails the test (the code under test must
/// unmount what it mounted); it is then unmounted and the tree removed without following
/// symlinks. Checks are per work root because suites run in parallel; `.ci/run` compares the
/// whole mount table before and after the suite.
public func withWorkRoot<T>(named suffix: String = "", _ body: (WorkRoot) throws -> T) throws -> T {
    let path = "/var/tmp/overlaybench-test-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))\(suffix)"
    let root = try WorkRoot.prepare(path)
    defer {
        let left = MountTable.current().mounts(under: root.path)
        if !left.isEmpty {
            Issue.record("left mounted below the work root: \(left.map(\.mountPoint).joined(separator: ", "))")
        }
        for mount in left {
            try? Mount.unmount(mount.mountPoint, detach: true)
        }
        try? TreeRemover.remove(root.path)
    }
    return try body(root)
}

/// The overlay, FUSE, EROFS and btrfs mounts on this host, as
/// `findmnt -t overlay,fuse.fuse-overlayfs,erofs,btrfs` lists them.
public func overlayMountPoints() -> [String] {
    MountTable.current().entries
        .filter { $0.fileSystemType == "overlay" || $0.fileSystemType.hasPrefix("fuse.") || $0.fileSystemType == "erofs" || $0.fileSystemType == "btrfs" }
        .map(\.mountPoint).sorted()
}

/// The `overlaybench` executable built beside the test bundle.
public var overlaybenchExecutable: String {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("overlaybench").path
    if FileManager.default.isExecutableFile(atPath: besideTests) { return besideTests }
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return packageRoot.appendingPathComponent(".build/debug/overlaybench").path
}

/// The outcome of running a command.
public struct CommandOutcome: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs `overlaybench` with `arguments` and waits for it.
public func runOverlayBench(_ arguments: [String]) throws -> CommandOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: overlaybenchExecutable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Read both pipes concurrently so a full pipe can never block the child.
    let group = DispatchGroup()
    nonisolated(unsafe) var stderrData = Data()
    group.enter()
    DispatchQueue.global().async {
        stderrData = err.fileHandleForReading.readDataToEndOfFile()
        group.leave()
    }
    let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    return CommandOutcome(status: process.terminationStatus,
                          stdout: String(decoding: stdoutData, as: UTF8.self),
                          stderr: String(decoding: stderrData, as: UTF8.self))
}
