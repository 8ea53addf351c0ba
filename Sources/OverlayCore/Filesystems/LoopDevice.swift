import Foundation
import OverlaySystem

/// Loop devices, through `losetup(8)` for attach and detach and through sysfs
/// (`/sys/block/loopN/loop/backing_file`, see loop(4)) for what each one is backed by.
public enum LoopDevice {
    /// The absolute path of a system tool (posix_spawn does not search `PATH`).
    public static func tool(_ name: String) -> String? { ChildProcess.findExecutable(name) }

    /// Runs a tool to completion; a failure carries the command line and its output.
    static func run(_ name: String, _ arguments: [String], timeout: Double = 120) throws(BackingFilesystemError) -> String {
        guard let path = tool(name) else { throw .unavailable(name, "\(name) is not installed (apt: util-linux, e2fsprogs, xfsprogs, btrfs-progs)") }
        let command = ([name] + arguments).joined(separator: " ")
        let outcome: ChildOutput
        do {
            outcome = try ChildProcess.run(path, arguments, timeout: timeout)
        } catch {
            throw .commandFailed(command, "\(error)")
        }
        let output = outcome.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        guard outcome.exit.succeeded, !outcome.timedOut else {
            let how = outcome.timedOut ? "timed out after \(Int(timeout)) s" : "\(outcome.exit)"
            throw .commandFailed(command, "\(how): \(outcome.firstLine)")
        }
        return output
    }

    /// `losetup --find --show IMAGE`: attaches the image to a free loop device and returns its path;
    /// `readOnly` adds `--read-only` (a read-only filesystem image, such as an EROFS layer);
    /// `directIO` adds `--direct-io=on`, so that what the filesystem on the device writes is not
    /// cached a second time as the image file's pages (``directIO(of:)`` says whether it took).
    public static func attach(image: String, readOnly: Bool = false, directIO: Bool = false) throws(BackingFilesystemError) -> String {
        let arguments = ["--find", "--show"] + (readOnly ? ["--read-only"] : []) + (directIO ? ["--direct-io=on"] : []) + [image]
        let device = try run("losetup", arguments)
        guard device.hasPrefix("/dev/loop"), !device.contains("\n") else {
            throw .commandFailed("losetup \(arguments.joined(separator: " "))", "unexpected output \"\(device)\"")
        }
        return device
    }

    /// Whether the loop device reads and writes its image with direct I/O
    /// (`/sys/block/loopN/loop/dio`); nil when that cannot be read.
    public static func directIO(of device: String) -> Bool? {
        let name = device.split(separator: "/").last.map(String.init) ?? device
        guard let text = try? FileSystem.readText("/sys/block/\(name)/loop/dio") else { return nil }
        return text.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
    }

    /// `losetup -d DEVICE`.
    public static func detach(_ device: String) throws(BackingFilesystemError) {
        _ = try run("losetup", ["-d", device])
    }

    /// The file a loop device is backed by, from sysfs, without the ` (deleted)` the kernel adds
    /// once the file is unlinked; nil when the device is not attached.
    public static func backingFile(of device: String) -> String? {
        let name = device.split(separator: "/").last.map(String.init) ?? device
        guard let text = try? FileSystem.readText("/sys/block/\(name)/loop/backing_file") else { return nil }
        var path = text.trimmingCharacters(in: .newlines)
        if path.hasSuffix(" (deleted)") { path.removeLast(" (deleted)".count) }
        return path.isEmpty ? nil : path
    }

    /// Every attached loop device with its backing file.
    public static func attached() -> [(device: String, backingFile: String)] {
        let names = (try? FileSystem.entries("/sys/block")) ?? []
        return names.filter { $0.hasPrefix("loop") }.sorted().compactMap { name in
            let device = "/dev/" + name
            return backingFile(of: device).map { (device, $0) }
        }
    }
}
