import OverlayCore
import OverlaySystem

/// Finds and removes what runs left in a work root: mounts first, then trees. It acts only on
/// paths inside the work root and on mounts whose mount point lies inside it.
public enum Janitor {
    /// Run directories whose owning process (`run-<pid>-…`) is gone.
    public static func staleRuns(in workRoot: WorkRoot) -> [String] {
        let names = (try? FileSystem.entries(workRoot.path)) ?? []
        return names.filter { name in
            guard name.hasPrefix("run-") else { return false }
            let parts = name.split(separator: "-")
            guard parts.count >= 2, let pid = Int32(parts[1]) else { return true }
            return pid != Host.processID && !processExists(pid)
        }.sorted().map { workRoot.path + "/" + $0 }
    }

    /// The state file that lists a run's helper processes: `<work root>/state/<run>.pids`.
    public static func ledgerPath(forRun run: String, in workRoot: WorkRoot) -> String {
        let state = workRoot.path + "/state"
        try? FileDescriptor.currentWorkingDirectory.makeDirectory(state, mode: 0o700)
        return state + "/" + baseName(run) + ".pids"
    }

    /// Stops the processes a run recorded, once their mounts are gone: each must still be ours
    /// (same executable and mount point, inside the work root); SIGTERM, then SIGKILL.
    static func stopRecordedProcesses(ledger: String, workRoot: WorkRoot, log: ProgressLog) {
        for entry in ProcessLedger.entries(in: ledger) where workRoot.contains(entry.mountPoint) {
            guard ProcessLedger.isOurs(entry) else { continue }
            log.info("stopping \(baseName(entry.executable)) pid \(entry.pid) left serving \(entry.mountPoint)")
            try? sendSignal(SignalNumber.terminate, to: entry.pid)
            for _ in 0..<50 where ProcessLedger.isOurs(entry) { MonotonicClock.sleep(nanoseconds: 20_000_000) }
            if ProcessLedger.isOurs(entry) { try? sendSignal(SignalNumber.kill, to: entry.pid) }
        }
        try? FileDescriptor.currentWorkingDirectory.unlink(ledger)
    }

    /// The last component of a path.
    static func baseName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

    /// Everything in the work root: every mount below it and every run directory.
    public static func cleanAll(_ workRoot: WorkRoot, log: ProgressLog) -> (unmounted: Int, removed: Int) {
        let mounts = MountTable.current().mounts(under: workRoot.path).filter { $0.mountPoint != workRoot.path }
        var unmounted = 0
        for mount in mounts {
            do {
                try Mount.unmount(mount.mountPoint)
                unmounted += 1
                log.info("unmounted \(mount.mountPoint) (\(mount.fileSystemType))")
            } catch {
                log.warning("could not unmount \(mount.mountPoint): \(error)")
            }
        }
        let stateDirectory = workRoot.path + "/state"
        for name in (try? FileSystem.entries(stateDirectory)) ?? [] where name.hasSuffix(".pids") {
            stopRecordedProcesses(ledger: stateDirectory + "/" + name, workRoot: workRoot, log: log)
        }
        detachLoops(under: workRoot.path, workRoot: workRoot, log: log)
        var removed = 0
        let names = (try? FileSystem.entries(workRoot.path)) ?? []
        for name in names where name.hasPrefix("run-") {
            do {
                try workRoot.remove(workRoot.path + "/" + name)
                removed += 1
            } catch {
                log.warning("could not remove \(workRoot.path)/\(name): \(error)")
            }
        }
        return (unmounted, removed)
    }

    /// Unmounts everything below `run` (deepest first, detaching if busy) and removes it.
    public static func cleanRun(_ run: String, workRoot: WorkRoot, log: ProgressLog, removeTrees: Bool = true) {
        guard workRoot.contains(run) else { return }
        for mount in MountTable.current().mounts(under: run) {
            do {
                try Mount.unmount(mount.mountPoint)
            } catch {
                do { try Mount.unmount(mount.mountPoint, detach: true) } catch {
                    log.warning("could not unmount \(mount.mountPoint): \(error)")
                }
            }
        }
        stopRecordedProcesses(ledger: ledgerPath(forRun: run, in: workRoot), workRoot: workRoot, log: log)
        detachLoops(under: run, workRoot: workRoot, log: log)
        guard removeTrees else { return }
        do { try workRoot.remove(run) } catch { log.warning("could not remove \(run): \(error)") }
    }
}
