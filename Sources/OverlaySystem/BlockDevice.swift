/// A block device as sysfs shows it under `/sys/dev/block/<major>:<minor>`: a whole disk, a
/// partition, a loop or a device-mapper device. Partitions have their own `inflight` and `stat`.
public struct BlockDevice: Sendable, Hashable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// The device a filesystem's `st_dev` names, or nil when it is anonymous (major 0: tmpfs,
    /// overlay, fuse, and btrfs, whose subvolumes get anonymous numbers).
    public static func holding(_ path: String) throws(SystemError) -> BlockDevice? {
        let status = try FileDescriptor.currentWorkingDirectory.status(of: path, followSymlinks: true)
        return status.deviceMajor == 0 ? nil : BlockDevice(major: status.deviceMajor, minor: status.deviceMinor)
    }

    /// The device node `path` (`/dev/loop3`) stands for, from its `st_rdev`; nil if it is not a
    /// block device.
    public static func node(_ path: String) throws(SystemError) -> BlockDevice? {
        let status = try FileDescriptor.currentWorkingDirectory.status(of: path, followSymlinks: true)
        return status.type == .blockDevice ? BlockDevice(major: status.rdevMajor, minor: status.rdevMinor) : nil
    }

    public var sysfsPath: String { "/sys/dev/block/\(major):\(minor)" }
    public var description: String { "\(major):\(minor)" }

    /// Requests the driver holds right now, from `inflight` (reads, then writes; discards and
    /// flushes count as writes).
    public func inFlight() throws(SystemError) -> (reads: Int, writes: Int) {
        let fields = try Self.fields(sysfsPath + "/inflight")
        guard fields.count >= 2 else { throw SystemError("read", path: sysfsPath + "/inflight", errno: .invalidArgument) }
        return (fields[0], fields[1])
    }

    /// The file a loop device reads and writes (`loop/backing_file`), or nil for other devices.
    public func loopBackingFile() -> String? {
        guard let bytes = try? FileSystem.readFile(sysfsPath + "/loop/backing_file") else { return nil }
        let text = String(decoding: bytes, as: UTF8.self).trimmingSuffix(while: { $0 == "\n" })
        return text.isEmpty ? nil : text
    }

    private static func fields(_ path: String) throws(SystemError) -> [Int] {
        String(decoding: try FileSystem.readFile(path), as: UTF8.self)
            .split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).compactMap { Int($0) }
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var result = Substring(self)
        while let last = result.last, predicate(last) { result = result.dropLast() }
        return String(result)
    }
}
