import Foundation
import OverlaySystem

/// Loop devices, through `losetup(8)` for attach and detach and through sysfs
/// (`/sys/block/loopN/loop/backing_file`, see loop(4)) for what each one is backed by.
public enum LoopDevice {
    /// The absolute path of a system tool, from the sbin and bin directories (posix_spawn does
    /// not search `PATH`).
    public static func tool(_ name: String) -> String? {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let path = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// Runs a tool to completion; a failure carries the command line and its output.
    static func run(_ name: String, _ arguments: [String], timeout: Double = 120) throws(BackingFilesystemError) -> String {
        guard let path = tool(name) else { throw .unavailable(name, "\(name) is not installed (apt: util-linux, e2fsprogs, xfsprogs, btrfs-progs)") }
        let command = ([name] + arguments).joined(separator: " ")
        let outcome: (exit: ChildExit?, output: String)
        do {
            outcome = try ChildProcess.run(path, arguments, timeout: timeout)
        } catch {
            throw .commandFailed(command, "\(error)")
        }
        let output = outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard outcome.exit?.succeeded == true else {
            throw .commandFailed(command, "\(outcome.exit.map { "\($0)" } ?? "timed out"): \(output)")
        }
        return output
    }

    /// `losetup --find --show IMAGE`: attaches the image to a free loop device and returns its path.
    public static func attach(image: String) throws(BackingFilesystemError) -> String {
        let device = try run("losetup", ["--find", "--show", image])
        guard device.hasPrefix("/dev/loop"), !device.contains("\n") else {
            throw .commandFailed("losetup --find --show \(image)", "unexpected output \"\(device)\"")
        }
        return device
    }

    /// `losetup -d DEVICE`.
    public static func detach(_ device: String) throws(BackingFilesystemError) {
        _ = try run("losetup", ["-d", device])
    }

    /// The file a loop device is backed by, from sysfs, without the ` (deleted)` the kernel adds
    /// once the file is unlinked; nil when the device is not attached.
    public static func backingFile(of device: String) -> String? {
        let name = (device as NSString).lastPathComponent
        guard let text = try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8) else { return nil }
        var path = text.trimmingCharacters(in: .newlines)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path.isEmpty ? nil : path
    }

    /// Every attached loop device with its backing file.
    public static func attached() -> [(device: String, backingFile: String)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        return names.filter { $0.hasPrefix("loop") }.sorted().compactMap { name in
            let device = "/dev/" + name
            return backingFile(of: device).map { (device, $0) }
        }
    }
}
