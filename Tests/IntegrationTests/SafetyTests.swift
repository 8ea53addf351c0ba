import Foundation
@testable import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

/// Faults: SIGKILL, a full disk, a non-root user. Each must leave the mount table, the loop
/// devices and the process table as they were.
@Suite("Safety under faults", .serialized)
struct SafetyTests {
    @Test("after SIGKILL, cleanup removes the stale mounts and stops the recorded fuse-overlayfs by PID",
          Gate.kernelOverlay.trait, Gate.fuseOverlayfs.trait)
    func sigkillThenCleanup() throws {
        try Gate.kernelOverlay.require()
        try Gate.fuseOverlayfs.require()
        try withWorkRoot { root in
            // posix_spawn + waitpid (Foundation's Process can miss a SIGKILLed child's exit).
            let child = try ChildProcess.spawn(overlaybenchExecutable, [
                "run", "copyup", "--backend", "kernel,fuse", "--sizes", "4KiB,64KiB", "--samples", "3000",
                "--warmup", "0", "--work-root", root.path, "--quiet"])
            var types: Set<String> = []
            for _ in 0..<600 where types.count < 2 {
                types = Set(MountTable.current().mounts(under: root.path).map(\.fileSystemType))
                MonotonicClock.sleep(nanoseconds: 50_000_000)
            }
            #expect(types == ["overlay", "fuse.fuse-overlayfs"])
            try child.signal(SIGKILL)
            #expect(try child.wait() == .signaled(SIGKILL))

            // What SIGKILL left: both mounts and the daemon, recorded in the work root's state.
            #expect(MountTable.current().mounts(under: root.path).count == 2)
            let ledgers = try FileManager.default.contentsOfDirectory(atPath: root.path + "/state").filter { $0.hasSuffix(".pids") }
            #expect(ledgers.count == 1)
            let daemons = ProcessLedger.entries(in: root.path + "/state/" + ledgers[0])
            #expect(daemons.count == 1)
            #expect(daemons.allSatisfy(ProcessLedger.isOurs))

            let outcome = try runOverlayBench(["cleanup", "--work-root", root.path])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(MountTable.current().mounts(under: root.path).isEmpty)
            for daemon in daemons { #expect(!ProcessLedger.isOurs(daemon), "fuse-overlayfs pid \(daemon.pid) still runs") }
            let left = try FileManager.default.contentsOfDirectory(atPath: root.path).filter { $0.hasPrefix("run-") }
            #expect(left.isEmpty)
        }
    }

    @Test("ENOSPC during a copy-up onto a 64 MiB upper filesystem is a clean error; nothing stays mounted",
          Gate.kernelOverlay.trait, Gate.loopDevices.trait)
    func enospcDuringCopyUp() throws {
        try Gate.kernelOverlay.require()
        try Gate.loopDevices.require()
        var ours: [String] = []
        try withWorkRoot { root in
            defer { ours = (try? loopDevices(backedUnder: root.path)) ?? [] }
            let run = try root.makeRunDirectory()
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 1, seed: 9, files: [
                FileSpec(path: "big.bin", size: 256 << 20, layer: 0),
            ])).build(in: run)
            try withSmallFilesystem(in: run, megabytes: 64) { small in
                // Upper and work on the small filesystem, the lower layer where it was generated.
                let cwd = FileDescriptor.currentWorkingDirectory
                try cwd.makeDirectory(small + "/upper")
                try cwd.makeDirectory(small + "/work")
                let container = LayerStack.Layer(id: stack.container.id, shortName: stack.container.shortName, directory: small)
                let cramped = LayerStack(root: stack.root, spec: stack.spec, lowerLayers: stack.lowerLayers,
                                         container: container)
                try cwd.makeDirectory(cramped.mergedPath)
                try cwd.rename(small + "/upper", to: cramped.upperPath, in: cwd)
                do {
                    try withMergedView(KernelOverlayBackend(), cramped, options: .defaults) { view in
                        let fd = try view.open("big.bin", .writeOnly, mode: 0)
                        fd.closeIgnoringErrors()
                    }
                    Issue.record("a 256 MiB copy-up fit in 64 MiB")
                } catch let error as SystemError {
                    #expect(error.errno == .noSpace, "\(error)")
                    #expect(error.path == "big.bin")
                }
                #expect(MountTable.current().mount(at: cramped.mergedPath) == nil)
                // The lower file is untouched.
                #expect(try cwd.status(of: stack.lowerPaths[0] + "/big.bin").size == 256 << 20)
            }
        }
        #expect(ours.isEmpty, "loop devices left attached: \(ours)")
    }

    @Test("a run that cannot fit in its work root is refused before generating, with exit 73",
          Gate.kernelOverlay.trait, Gate.loopDevices.trait)
    func refusedForSpace() throws {
        try Gate.kernelOverlay.require()
        try Gate.loopDevices.require()
        var ours: [String] = []
        try withTemporaryDirectory { dir in
            defer { ours = (try? loopDevices(backedUnder: dir)) ?? [] }
            try withSmallFilesystem(in: dir, megabytes: 64) { small in
                let outcome = try runOverlayBench(["run", "copyup", "--sizes", "256MiB", "--samples", "2",
                                                   "--work-root", small + "/root"])
                #expect(outcome.status == 73, "stderr: \(outcome.stderr)")
                #expect(outcome.stderr.contains("not enough space"))
                #expect(outcome.stderr.split(separator: "\n").filter { $0.contains("error") }.count == 1)
            }
        }
        #expect(ours.isEmpty, "loop devices left attached: \(ours)")
    }

    @Test("without root: a clear message and exit 69, for run and for doctor", Gate.root.trait)
    func nonRoot() throws {
        try Gate.root.require()
        try withTemporaryDirectory { dir in
            // A copy of the binary that the unprivileged user can surely execute.
            let binary = dir + "/overlaybench"
            try copyExecutable(overlaybenchExecutable, to: binary)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)
            let run = try runAs(nobody: binary, ["run", "copyup", "--sizes", "4KiB", "--samples", "1",
                                                 "--work-root", dir + "/nobody-root"])
            #expect(run.status == 69, "stderr: \(run.stderr)")
            #expect(run.stderr.contains("needs root"))
            let doctor = try runAs(nobody: binary, ["doctor", "--work-root", dir + "/nobody-root"])
            #expect(doctor.status == 69)
            #expect(doctor.stdout.contains("FAIL  root"))
        }
    }
}

extension SafetyTests {
    @Test("--rootless: without root, the kernel overlay runs in a user namespace with userxattr", Gate.root.trait)
    func rootless() throws {
        try Gate.root.require()
        try withTemporaryDirectory { dir in
            let binary = dir + "/overlaybench"
            try copyExecutable(overlaybenchExecutable, to: binary)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir)
            let writable = dir + "/nobody"
            try FileManager.default.createDirectory(atPath: writable, withIntermediateDirectories: false)
            try FileManager.default.setAttributes([.ownerAccountID: 65534, .posixPermissions: 0o755], ofItemAtPath: writable)
            let outcome = try runAs(nobody: binary, ["run", "copyup", "--rootless", "--sizes", "4KiB", "--samples", "2",
                                                     "--work-root", writable + "/root", "--out", writable + "/r.json"])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let result = try ResultFile.load(writable + "/r.json")
            #expect(result.environment.mounts.first?.effectiveOptions.contains("userxattr") == true)
            #expect(result.measurements.contains { $0.metric == "firstWrite" && $0.summary?.n == 2 })
            // The mounts lived in the namespace's own mount table and ended with it.
            #expect(MountTable.current().mounts(under: writable).isEmpty)
        }
    }
}

/// The lines of `losetup -a` whose backing file lies under `directory` (other suites attach
/// loop devices in parallel; `.ci/run` compares the whole list before and after the suite).
func loopDevices(backedUnder directory: String) throws -> [String] {
    try command("/sbin/losetup", ["-a"]).stdout.split(separator: "\n").map(String.init)
        .filter { $0.contains("(\(directory)/") }.sorted()
}

/// Runs a command and waits for it.
@discardableResult
func command(_ executable: String, _ arguments: [String]) throws -> CommandOutcome {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandOutcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                          stderr: String(decoding: stderr, as: UTF8.self))
}

/// Runs `binary` as uid/gid 65534 with no supplementary groups.
func runAs(nobody binary: String, _ arguments: [String]) throws -> CommandOutcome {
    // execve fails with ETXTBSY while any process still holds the copy open for writing: a
    // child that another test forked between our open and close keeps the descriptor until it
    // execs (golang/go#22315). The copy is made O_CLOEXEC, so that lasts microseconds; retry.
    var attempt = 0
    while true {
        let outcome = try command("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", binary] + arguments)
        attempt += 1
        guard outcome.status == 126, outcome.stderr.contains("Text file busy"), attempt < 20 else { return outcome }
        usleep(100_000)
    }
}

/// Copies the executable `source` to the new file `destination`, mode 0755, through an
/// `O_CLOEXEC` descriptor. Foundation's copyItem does not promise O_CLOEXEC, and a child that
/// another test starts meanwhile and that keeps the descriptor makes executing the copy fail
/// with ETXTBSY for as long as it runs (a fuse-overlayfs daemon: the whole test).
func copyExecutable(_ source: String, to destination: String) throws {
    let bytes = try FileSystem.readFile(source)
    let fd = try FileDescriptor.open(destination, [.writeOnly, .create, .exclusive], mode: 0o755)
    do {
        try fd.writeAll(bytes, at: 0)
    } catch {
        fd.closeIgnoringErrors()
        throw error
    }
    try fd.closeChecked(path: destination)
}

/// A small ext4 filesystem on a loop device, mounted at `<directory>/small` for `body`, then
/// unmounted and detached whatever happens.
func withSmallFilesystem(in directory: String, megabytes: Int, _ body: (String) throws -> Void) throws {
    let image = directory + "/small.img"
    let mountPoint = directory + "/small"
    let fd = try FileDescriptor.open(image, [.writeOnly, .create, .exclusive], mode: 0o600)
    try fd.truncate(to: Int64(megabytes) << 20)
    fd.closeIgnoringErrors()
    let attach = try command("/sbin/losetup", ["--find", "--show", image])
    let device = attach.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    guard attach.status == 0, device.hasPrefix("/dev/loop") else { throw GateUnavailable(description: "losetup failed: \(attach.stderr)") }
    defer { _ = try? command("/sbin/losetup", ["-d", device]) }
    let mkfs = try command("/sbin/mkfs.ext4", ["-q", "-F", device])
    guard mkfs.status == 0 else { throw GateUnavailable(description: "mkfs.ext4 failed: \(mkfs.stderr)") }
    try FileDescriptor.currentWorkingDirectory.makeDirectory(mountPoint)
    try Mount.mount(source: device, target: mountPoint, type: "ext4", data: nil)
    defer { try? Mount.unmount(mountPoint) }
    try body(mountPoint)
}
