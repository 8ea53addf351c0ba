import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("overlaybench command line")
struct CommandLineTests {
    @Test("bad input gets a one-line error and exit 64", arguments: [
        ["run", "copyup", "--sizes", "4XB"],
        ["run", "copyup", "--mount-options", "bogus=1"],
        ["run", "copyup", "--samples", "0"],
        ["run", "copyup", "--cache", "tepid"],
        ["run", "copyup", "--backend", "nosuch"],
        ["run", "copyup", "--layers", "501"],
        ["run", "copyup", "--settle", "5"],
        ["run", "copyup", "--settle", "-1ms"],
        ["run", "copyup", "--reference-engine", "nope"],
        ["generate", "--out", "/var/tmp/x", "--layers", "0"],
    ])
    func badInput(arguments: [String]) throws {
        let workRoot = arguments[0] == "run" ? ["--work-root", "/var/tmp/overlaybench-never-created"] : []
        let outcome = try runOverlayBench(arguments + workRoot)
        #expect(outcome.status == 64)
        #expect(outcome.stderr.hasPrefix("overlaybench: error: "))
        #expect(outcome.stderr.split(separator: "\n").count == 1, "not one line: \(outcome.stderr)")
        #expect(!outcome.stderr.contains("Fatal error"))
        #expect(!FileSystem.exists("/var/tmp/overlaybench-never-created"))
    }

    @Test("doctor --help says which checks mount something, and where")
    func doctorHelp() throws {
        let outcome = try runOverlayBench(["doctor", "--help"])
        #expect(outcome.status == 0)
        let help = outcome.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(help.contains("The metacopy check mounts a one-layer kernel overlay"))
        #expect(help.contains("The erofs file-backed mount check builds a one-file EROFS image"))
        #expect(help.contains("<work-root>/run-<pid>-<random>/erofs/erofs"))
        #expect(help.contains("<work-root>/run-"))
        #expect(help.contains("No other check mounts anything"))
    }

    @Test("--help and --version still print on stdout and exit 0", arguments: [["--help"], ["--version"], ["run", "copyup", "--help"]])
    func help(arguments: [String]) throws {
        let outcome = try runOverlayBench(arguments)
        #expect(outcome.status == 0)
        #expect(!outcome.stdout.isEmpty && outcome.stderr.isEmpty)
    }

    @Test("a work root that is not ours is refused with exit 64 and left untouched")
    func foreignWorkRoot() throws {
        try withTemporaryDirectory { dir in
            try FileSystem.writeAtomically(Array("x".utf8), to: dir + "/precious", replacing: false)
            let outcome = try runOverlayBench(["run", "copyup", "--sizes", "4KiB", "--samples", "1", "--work-root", dir])
            #expect(outcome.status == 64)
            #expect(outcome.stderr.contains("did not create"))
            #expect(outcome.stderr.split(separator: "\n").count == 1)
            #expect(try FileSystem.entries(dir) == ["precious"])
        }
    }

    @Test("run copyup writes a valid versioned result and prints a table", Gate.kernelOverlay.trait)
    func resultFile() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let out = root.path + "/r.json"
            let outcome = try runOverlayBench(["run", "copyup", "--backend", "kernel", "--sizes", "4KiB,1MiB",
                                               "--samples", "3", "--work-root", root.path, "--out", out])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            #expect(outcome.stdout.contains("firstWrite"))
            let result = try ResultFile.load(out)
            #expect(result.schema == "overlaybench.result/1")
            #expect(!result.incomplete)
            // 2 sizes × (3 timings, the control, the overhead, the copy's unshared and shared
            // bytes), and the upper and work footprint (4 metrics).
            #expect(result.measurements.count == 2 * 7 + 4)
            #expect(result.environment.mounts.first?.effectiveOptions.contains("upperdir=") == true)
            #expect(!result.environment.kernel.isEmpty && result.environment.cpuCount > 0)
            #expect(result.environment.backingFilesystems.first?.type.isEmpty == false)
            let json = try JSONSerialization.jsonObject(with: Data(FileSystem.readFile(out))) as! [String: Any]
            let first = (json["measurements"] as! [[String: Any]])[0]
            #expect(Set(first.keys).isSuperset(of: ["probe", "backend", "metric", "unit", "parameters", "summary", "samples"]))
            let summary = first["summary"] as! [String: Any]
            #expect(Set(summary.keys) == ["n", "min", "p50", "p90", "p99", "max", "mean", "stddev"])
            // A baseline is never overwritten without --force: refused (cannot create) before the run.
            let again = try runOverlayBench(["run", "copyup", "--sizes", "4KiB", "--samples", "1", "--work-root", root.path, "--out", out])
            #expect(again.status == 73)
            #expect(again.stderr.contains("--force"))
            #expect(again.stderr.split(separator: "\n").count == 1)
            // --json puts the result on stdout, diagnostics on stderr.
            let json2 = try runOverlayBench(["run", "copyup", "--sizes", "4KiB", "--samples", "1", "--work-root", root.path, "--json"])
            #expect(json2.status == 0)
            #expect(json2.stdout.hasPrefix("{"))
            #expect(json2.stderr.contains("mounted kernel"))
            // --settle idles before each timed call and says so in the parameters.
            let settled = try runOverlayBench(["run", "copyup", "--sizes", "4KiB", "--samples", "2", "--settle", "1ms",
                                               "--work-root", root.path, "--json"])
            #expect(settled.status == 0, "stderr: \(settled.stderr)")
            let settledResult = try JSONDecoder().decode(ResultFile.self, from: Data(settled.stdout.utf8))
            let firstWrites = settledResult.measurements.filter { $0.metric == "firstWrite" }
            #expect(!firstWrites.isEmpty && firstWrites.allSatisfy { $0.parameters["settleNs"] == .int(1_000_000) })
        }
    }

    @Test("SIGINT mid-sweep unmounts, keeps partial results marked incomplete, and exits 130", Gate.kernelOverlay.trait)
    func interrupt() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let out = root.path + "/partial.json"
            // Many small files: the sweep is long but the tree is small (about 0.5 GiB).
            let child = try ChildProcess.spawn(overlaybenchExecutable, [
                "run", "copyup", "--sizes", "4KiB,64KiB", "--samples", "3000", "--warmup", "0",
                "--work-root", root.path, "--out", out, "--quiet"])
            // Wait until its overlay is mounted and a few samples are in.
            var mounted = false
            for _ in 0..<600 {
                if MountTable.current().mounts(under: root.path).contains(where: { $0.fileSystemType == "overlay" }) {
                    mounted = true
                    break
                }
                MonotonicClock.sleep(nanoseconds: 50_000_000)
            }
            #expect(mounted)
            MonotonicClock.sleep(nanoseconds: 300_000_000)
            try child.signal(SIGINT)
            // No bound on how long the exit takes (DEVELOPERS.md: no timing assertions): the tree
            // teardown is part of it, and took 83 s on a loaded 2-vCPU VM. The timeout only keeps
            // a hung child from hanging the suite; it is killed if it outlives it.
            let exit = try child.wait(timeout: 600)
            if exit == nil { try? child.signal(SIGKILL) }
            #expect(exit == .exited(130))
            #expect(MountTable.current().mounts(under: root.path).isEmpty)
            let result = try ResultFile.load(out)
            #expect(result.incomplete)
            #expect(result.stopReason?.contains("SIGINT") == true)
            let runs = try FileSystem.entries(root.path).filter { $0.hasPrefix("run-") }
            #expect(runs.isEmpty)
        }
    }

    @Test("doctor reports every check and exits 0 when the kernel backend can run", Gate.kernelOverlay.trait)
    func doctor() throws {
        try Gate.kernelOverlay.require()
        try withWorkRoot { root in
            let outcome = try runOverlayBench(["doctor", "--json", "--work-root", root.path])
            #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
            let report = try JSONDecoder().decode(Doctor.Report.self, from: Data(outcome.stdout.utf8))
            #expect(report.kernelBackendRunnable)
            let names = Set(report.checks.map(\.name))
            for expected in ["kernel", "root", "overlay filesystem", "overlay module parameters", "io_uring sysctl",
                             "io_uring ring", "liburing", "work root filesystem", "d_type", "O_TMPFILE", "reflink",
                             "metacopy", "fuse-overlayfs", "drop_caches", "erofs filesystem", "mkfs.erofs",
                             "erofs file-backed mount"] {
                #expect(names.contains(expected), "missing check \(expected)")
            }
            // fuse-overlayfs's own version, not the fusermount3 line its --version prints first.
            if let fuse = report.checks.first(where: { $0.name == "fuse-overlayfs" }), fuse.status == .ok {
                #expect(fuse.detail.contains("fuse-overlayfs: version"), "\(fuse.detail)")
                #expect(!fuse.detail.contains("fusermount"), "\(fuse.detail)")
            }
            let metacopy = report.checks.first { $0.name == "metacopy" }
            #expect(metacopy?.detail.contains(root.path) == true, "the metacopy check says where it mounted: \(metacopy?.detail ?? "")")
            // Where EROFS can run, the version is mkfs.erofs's own line and the check says where it mounted.
            if Gate.erofs.isAvailable {
                let mkfs = report.checks.first { $0.name == "mkfs.erofs" }
                #expect(mkfs?.status == .ok && mkfs?.detail.hasPrefix("mkfs.erofs ") == true, "\(mkfs?.detail ?? "")")
                let fileBacked = report.checks.first { $0.name == "erofs file-backed mount" }
                #expect(fileBacked?.status == .ok, "\(fileBacked?.detail ?? "")")
                #expect(fileBacked?.detail.contains(root.path) == true, "the erofs check says where it mounted: \(fileBacked?.detail ?? "")")
            }
        }
    }
}
