import OverlayCore
import OverlaySystem

/// Loop devices: a run records each device it attaches in `<workRoot>/state/<run>.loops` and
/// removes it on detach. The janitor detaches a loop device only when sysfs says its backing
/// file lies inside the work root (or the run) being cleaned; it never touches anyone else's.
extension Janitor {
    static let stateDirectoryName = "state"

    public static func loopStatePath(workRoot: WorkRoot, run: String) -> String {
        workRoot.path + "/\(stateDirectoryName)/" + baseName(run) + ".loops"
    }

    /// Appends `device` to the state file (creating the state directory).
    static func appendLoop(_ device: String, to statePath: String) throws {
        // The state directory is the work root's own; only it is made here, never its parents.
        if let slash = statePath.lastIndex(of: "/") { try FileSystem.makeDirectory(String(statePath[..<slash]), mode: 0o700) }
        var lines = recordedLoops(statePath)
        lines.append(device)
        try FileSystem.writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: statePath, replacing: true)
    }

    /// Removes `device` from the state file, and the file once it is empty.
    static func removeLoop(_ device: String, from statePath: String) {
        let lines = recordedLoops(statePath).filter { $0 != device }
        if lines.isEmpty {
            try? FileSystem.removeFile(statePath)
        } else {
            try? FileSystem.writeAtomically(Array((lines.joined(separator: "\n") + "\n").utf8), to: statePath, replacing: true)
        }
    }

    /// The devices a state file lists.
    public static func recordedLoops(_ statePath: String) -> [String] {
        let text = (try? FileSystem.readText(statePath)) ?? ""
        return text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// Detaches every loop device whose backing file lies inside `directory` (which must be in
    /// the work root), after unmounting anything still mounted from it, and drops the state
    /// files of runs that no longer exist. Returns how many devices were detached.
    @discardableResult
    public static func detachLoops(under directory: String, workRoot: WorkRoot, log: ProgressLog) -> Int {
        guard directory == workRoot.path || workRoot.contains(directory) else { return 0 }
        var detached = 0
        let mounts = MountTable.current()
        for (device, backing) in LoopDevice.attached() where backing.hasPrefix(directory + "/") {
            for mount in mounts.entries where mount.source == device {
                do { try Mount.unmount(mount.mountPoint, detach: true) } catch {
                    log.warning("could not unmount \(mount.mountPoint) (on \(device)): \(error)")
                }
            }
            do {
                try LoopDevice.detach(device)
                detached += 1
                log.info("detached \(device) (backed by \(backing))")
            } catch {
                log.warning("could not detach \(device): \(error)")
            }
        }
        let stateDirectory = workRoot.path + "/" + stateDirectoryName
        let stateFiles = (try? FileSystem.entries(stateDirectory)) ?? []
        for name in stateFiles where name.hasSuffix(".loops") {
            let run = workRoot.path + "/" + String(name.dropLast(".loops".count))
            let covered = directory == workRoot.path || run == directory
            let live = recordedLoops(stateDirectory + "/" + name).contains { LoopDevice.backingFile(of: $0)?.hasPrefix(run + "/") == true }
            if covered && !live { try? FileSystem.removeFile(stateDirectory + "/" + name) }
        }
        return detached
    }
}
