import Foundation
import OverlaySystem

/// A filesystem made for one run: a sparse image file in the run directory, attached to a loop
/// device, formatted and mounted at `<run>/fs-<name>`; or, for `tmpfs`, a size-limited tmpfs
/// mounted there (no image, no device).
///
/// Set-up order is image → attach → mkfs → mount; ``tearDown(onDetach:)`` undoes it in reverse
/// and is safe to call after a partial set-up. The caller learns the device as soon as it is
/// attached (`onAttach`), so it can record it in a state file before anything else can fail.
public final class LoopFilesystem {
    public let kind: BackingFilesystemKind
    public let size: Int64
    /// Where it is mounted; trees for the probes go below it.
    public let mountPoint: String
    /// The image file, nil for tmpfs.
    public let image: String?
    /// `/dev/loopN` while attached.
    public private(set) var device: String?
    public private(set) var isMounted = false
    /// The mkfs command line, or the tmpfs mount data, for the result's environment.
    public let mkfsOptions: String

    private init(kind: BackingFilesystemKind, size: Int64, mountPoint: String, image: String?, mkfsOptions: String) {
        self.kind = kind
        self.size = size
        self.mountPoint = mountPoint
        self.image = image
        self.mkfsOptions = mkfsOptions
    }

    /// Whether this host can make `kind`: the tools are installed and the kernel knows the type.
    public static func availability(of kind: BackingFilesystemKind) -> BackendAvailability {
        guard let type = kind.fileSystemType else { return .available }
        let filesystems = (try? FileSystem.readText("/proc/filesystems")) ?? ""
        // Modules not yet loaded are absent from /proc/filesystems; mount(2) autoloads them, so
        // only a missing module file is decisive.
        let known = filesystems.contains("\t\(type)\n") || FileSystem.exists("/sys/module/\(type)")
            || moduleShipped(type)
        guard known else { return .unavailable("the kernel has no \(type) (not in /proc/filesystems, no module)") }
        guard kind.usesLoopDevice else { return .available }
        guard FileSystem.exists("/dev/loop-control") else { return .unavailable("no /dev/loop-control") }
        if LoopDevice.tool("losetup") == nil { return .unavailable("losetup is not installed (apt: util-linux)") }
        if let mkfs = kind.mkfsProgram, LoopDevice.tool(mkfs) == nil { return .unavailable("\(mkfs) is not installed") }
        return .available
    }

    private static func moduleShipped(_ type: String) -> Bool {
        let release = Host.uname().release
        let directory = "/lib/modules/\(release)/kernel/fs/\(type)"
        return FileSystem.exists(directory)
    }

    /// Makes and mounts a `kind` filesystem of `size` bytes in `directory` (a run directory).
    /// `onAttach` receives the loop device right after `losetup` attached it.
    public static func make(
        _ kind: BackingFilesystemKind, size: Int64, in directory: String, onAttach: (String) -> Void
    ) throws -> LoopFilesystem {
        precondition(kind != .root, "the root filesystem is not made")
        if case .unavailable(let why) = availability(of: kind) { throw BackingFilesystemError.unavailable(kind.rawValue, why) }
        let mountPoint = directory + "/fs-\(kind.rawValue)"
        let cwd = FileDescriptor.currentWorkingDirectory
        try cwd.makeDirectory(mountPoint, mode: 0o755)
        if kind == .tmpfs {
            let data = "size=\(size),mode=0755"
            let filesystem = LoopFilesystem(kind: kind, size: size, mountPoint: mountPoint, image: nil, mkfsOptions: "tmpfs \(data)")
            try Mount.mount(source: "tmpfs", target: mountPoint, type: "tmpfs", data: data)
            filesystem.isMounted = true
            return filesystem
        }
        let image = directory + "/fs-\(kind.rawValue).img"
        let arguments = kind.mkfsArguments
        let filesystem = LoopFilesystem(kind: kind, size: size, mountPoint: mountPoint, image: image,
                                        mkfsOptions: ([kind.mkfsProgram!] + arguments).joined(separator: " "))
        // A sparse image: ftruncate allocates nothing, so only what the run writes costs disk.
        let fd = try FileDescriptor.open(image, [.writeOnly, .create, .exclusive], mode: 0o600)
        do {
            try fd.truncate(to: size, path: image)
            try fd.closeChecked(path: image)
        } catch {
            fd.closeIgnoringErrors()
            throw error
        }
        do {
            // Direct I/O: the image file's own page cache would otherwise hold a second copy of
            // everything the run writes, growing with every sample (see SamplingPlan.releasePages).
            let device = try LoopDevice.attach(image: image, directIO: true)
            filesystem.device = device
            onAttach(device)
            _ = try LoopDevice.run(kind.mkfsProgram!, arguments + [device])
            // Online discard punches the holes of deleted files back into the sparse image, so a
            // long suite does not grow the image (and the disk under it) to the sum of its trees.
            try Mount.mount(source: device, target: mountPoint, type: kind.fileSystemType!, data: "discard")
            filesystem.isMounted = true
        } catch {
            try? filesystem.tearDown(onDetach: { _ in })
            throw error
        }
        return filesystem
    }

    /// Unmounts (lazily if still busy) and detaches the loop device. Whatever is mounted below
    /// the mount point must be unmounted first; the caller's janitor does that.
    public func tearDown(onDetach: (String) -> Void) throws {
        var firstError: (any Error)?
        if isMounted {
            do {
                try Mount.unmount(mountPoint)
                isMounted = false
            } catch {
                do {
                    try Mount.unmount(mountPoint, detach: true)
                    isMounted = false
                } catch let detachError {
                    firstError = detachError
                }
            }
        }
        if let device {
            do {
                // After a lazy unmount losetup -d only sets autoclear; the device goes when the
                // last user does.
                try LoopDevice.detach(device)
                self.device = nil
                onDetach(device)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }
}
