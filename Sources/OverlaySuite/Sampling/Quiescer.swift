import OverlayCore
import OverlaySystem

/// Brings the filesystems a timed call touches to rest before the clock starts: nothing dirty,
/// nothing in writeback, no request in flight on their devices.
///
/// For each filesystem it `syncfs(2)`s (data, inodes, the journal commit), then polls
/// `/sys/dev/block/<major>:<minor>/inflight` until both counts are zero, which also waits for
/// the discards an online-`discard` ext4 issues after a commit that freed blocks. A filesystem
/// on a loop device is followed to the filesystem of its backing file, whose page cache holds
/// the loop's writes. tmpfs has no device; it is only synced.
final class Quiescer {
    /// One filesystem: a descriptor to `syncfs` through, and its device when it has one.
    struct Filesystem {
        var path: String
        var descriptor: FileDescriptor
        var device: BlockDevice?
    }

    /// Longest wait for a device to drain before the sample goes ahead with a warning.
    static let drainTimeout: UInt64 = 10_000_000_000
    static let pollInterval: UInt64 = 100_000

    private(set) var filesystems: [Filesystem] = []
    /// Devices that did not drain within ``drainTimeout``, for a warning.
    private(set) var stalls = 0

    /// The filesystems holding `paths`, each once, with those behind their loop devices.
    init(paths: [String]) throws {
        var seen = Set<String>()
        var pending = paths
        let table = MountTable.current()
        while let path = pending.popLast() {
            let mount = table.backingMount(of: path)
            let identity = mount?.mountPoint ?? path
            guard seen.insert(identity).inserted else { continue }
            // btrfs gives st_dev an anonymous number: ask the mount's source instead.
            var device = try BlockDevice.holding(path)
            if device == nil, let source = mount?.source, source.hasPrefix("/dev/") { device = try? BlockDevice.node(source) }
            let descriptor = try FileDescriptor.open(path, [.readOnly, .directory])
            filesystems.append(Filesystem(path: path, descriptor: descriptor, device: device))
            if let backing = device?.loopBackingFile() {
                pending.append(String(backing[..<(backing.lastIndex(of: "/") ?? backing.endIndex)]))
            }
        }
    }

    deinit {
        for filesystem in filesystems { filesystem.descriptor.closeIgnoringErrors() }
    }

    /// Syncs every filesystem, the loop-backed ones first, then waits for every device to drain.
    func quiesce() throws {
        for filesystem in filesystems { try filesystem.descriptor.syncFilesystem(path: filesystem.path) }
        for device in Set(filesystems.compactMap(\.device)) {
            let deadline = MonotonicClock.now() + Self.drainTimeout
            while try device.inFlight() != (0, 0) {
                // A caught signal ends the run at the next check; do not wait for the device first.
                if SignalTrap.caught != nil { return }
                if MonotonicClock.now() > deadline { stalls += 1; break }
                MonotonicClock.sleep(nanoseconds: Self.pollInterval)
            }
        }
    }
}
