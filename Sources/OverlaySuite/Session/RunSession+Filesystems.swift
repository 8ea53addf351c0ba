import Foundation
import OverlayCore
import OverlaySystem

extension RunSession {
    /// The state file listing the loop devices this run attached, one per line:
    /// `<workRoot>/state/<run-directory-name>.loops`. It outlives a SIGKILL, so a later
    /// `overlaybench cleanup` (``Janitor``) can find and detach them.
    public var loopStatePath: String {
        Janitor.loopStatePath(workRoot: workRoot, run: runDirectory)
    }

    /// The directory probes on `kind` run in: the run directory itself for `root`, otherwise a
    /// filesystem made (once per run) on a loop device or as tmpfs, recorded in the environment.
    public func directory(for kind: BackingFilesystemKind, size: Int64 = BackingFilesystemKind.defaultSize) throws -> String {
        if kind == .root { return runDirectory }
        if let made = filesystems.first(where: { $0.kind == kind }) { return made.mountPoint }
        try SignalTrap.check()
        log.info("making \(kind.rawValue) (\(ByteCount.format(size)))\(kind.usesLoopDevice ? " on a loop device" : "")")
        let statePath = loopStatePath
        let made = try LoopFilesystem.make(kind, size: size, in: runDirectory) { device in
            do { try Janitor.appendLoop(device, to: statePath) } catch {
                log.warning("could not record \(device) in \(statePath): \(error)")
            }
        }
        filesystems.append(made)
        let entry = MountTable.current().mount(at: made.mountPoint)
        environment.backingFilesystems.append(RunEnvironment.BackingFilesystem(
            name: kind.rawValue, type: entry?.fileSystemType ?? kind.fileSystemType ?? "unknown",
            source: made.device ?? entry?.source ?? "none", mountPoint: made.mountPoint,
            mountOptions: entry?.mountOptions ?? "", superOptions: entry?.superOptions ?? "",
            mkfsOptions: made.mkfsOptions, journal: entry?.hasJournal, loopDirectIO: made.device.flatMap(LoopDevice.directIO(of:))))
        if let device = made.device, LoopDevice.directIO(of: device) == false {
            log.warning("\(device) does not do direct I/O to its image: the image's page cache grows with what the run writes")
        }
        log.info("mounted \(kind.rawValue) at \(made.mountPoint)\(made.device.map { " on \($0)" } ?? "")")
        return made.mountPoint
    }

    /// Unmounts what is still mounted on each made filesystem, then unmounts it and detaches its
    /// loop device, newest first; a failure is logged and the rest still torn down.
    func tearDownFilesystems() {
        for filesystem in filesystems.reversed() {
            for mount in MountTable.current().mounts(under: filesystem.mountPoint) where mount.mountPoint != filesystem.mountPoint {
                do { try Mount.unmount(mount.mountPoint) } catch {
                    do { try Mount.unmount(mount.mountPoint, detach: true) } catch {
                        log.warning("could not unmount \(mount.mountPoint): \(error)")
                    }
                }
            }
            let statePath = loopStatePath
            do {
                try filesystem.tearDown { device in Janitor.removeLoop(device, from: statePath) }
            } catch {
                log.warning("tearing down \(filesystem.kind.rawValue) at \(filesystem.mountPoint): \(error)")
            }
        }
        filesystems.removeAll { !$0.isMounted && $0.device == nil }
        if filesystems.isEmpty { try? FileSystem.removeFile(loopStatePath) }
    }
}
