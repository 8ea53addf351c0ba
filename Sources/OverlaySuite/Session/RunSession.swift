import Foundation
import OverlayCore
import OverlaySystem

/// One invocation's lifetime: its work root and run directory, what it measured, and the
/// teardown that runs whatever happened (success, error, or a signal).
public final class RunSession {
    public let workRoot: WorkRoot
    public let runDirectory: String
    public let log: ProgressLog
    public let book = SampleBook()
    public var environment: RunEnvironment
    public var mounts: [RunEnvironment.MountRecord] = []
    /// Filesystems made for this run (loop devices, tmpfs); torn down before the trees go.
    public internal(set) var filesystems: [LoopFilesystem] = []
    /// Keep generated trees after the run (for inspection); mounts are always removed.
    public var keepTrees = false

    public init(workRootPath: String, commandLine: [String], log: ProgressLog) throws {
        self.log = log
        workRoot = try WorkRoot.prepare(workRootPath)
        for stale in Janitor.staleRuns(in: workRoot) {
            log.warning("cleaning up \(stale), left by an earlier run that did not finish")
            Janitor.cleanRun(stale, workRoot: workRoot, log: log)
        }
        runDirectory = try workRoot.makeRunDirectory()
        environment = RunEnvironment.capture(workRoot: workRoot.path, commandLine: commandLine)
        ProcessLedger.use(Janitor.ledgerPath(forRun: runDirectory, in: workRoot))
    }

    /// The result file for what was gathered; `stop` marks it incomplete with the reason.
    public func result(stoppedBy stop: (any Error)? = nil) -> ResultFile {
        var environment = self.environment
        environment.mounts = mounts
        environment.endTime = RunEnvironment.timestamp()
        var file = ResultFile(environment: environment, measurements: book.measurements())
        if let stop {
            file.incomplete = true
            file.stopReason = "\(stop)"
        }
        return file
    }

    /// Unmounts anything still mounted below the run directory (the probes unmount what they
    /// mount; this is the safety net) and removes the run's trees.
    public func tearDown() {
        tearDownFilesystems()
        Janitor.cleanRun(runDirectory, workRoot: workRoot, log: log, removeTrees: !keepTrees)
        ProcessLedger.use(nil)
        if keepTrees { log.info("kept the generated trees in \(runDirectory)") }
    }
}

extension RunSession {
    /// Refuses before generating when `directory` lacks the space the run needs.
    public func checkSpace(_ needed: Int64, in directory: String) throws {
        let free = try Host.freeSpace(at: directory).bytes
        if needed > free { throw WorkloadError.insufficientSpace(needed: needed, available: free, path: directory) }
        log.info("this run needs about \(ByteCount.format(needed)) in \(directory) (\(ByteCount.format(free)) free)")
    }
}
