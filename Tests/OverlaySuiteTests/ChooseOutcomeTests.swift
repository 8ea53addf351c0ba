import OverlayCore
@testable import OverlaySuite
import Testing

/// What `choose` counts as a failed operation: an outcome the trace does not mean (issue 16's
/// webapp trace on an image stats 150 names the image lacks, on purpose).
@Suite("choose outcomes")
struct ChooseOutcomeTests {
    @Test("an expected ENOENT is not a failure; an unexpected one, or an expected error met by success, is")
    func expectedErrorsAreNotFailures() {
        let results = ["ok 4096", "ENOENT", "ENOENT", "ok d 0755 4096", "EXDEV", "ENOENT"]
        let expected = [1: "ENOENT", 3: "ENOENT"]
        let failures = ChooseRunner.failures(results, expected: expected)
        #expect(failures.map(\.outcome) == ["ENOENT", "EXDEV", "ok"])
        #expect(failures.map(\.count) == [2, 1, 1])
    }

    @Test("a driver that needs a filesystem runs only on it, and is listed unranked elsewhere with what it needs")
    func backingFilesystemNeeds() throws {
        // /proc is on proc, whatever the machine's root is.
        let why = try #require(ChooseRunner.unmetNeed(BtrfsSnapshotBackend(), fs: .ext4, directory: "/proc"))
        #expect(why.contains("btrfs needs its layers on btrfs") && why.contains("--fs ext4 is proc") && why.contains("ranked on --fs btrfs"))
        #expect(ChooseRunner.unmetNeed(KernelOverlayBackend(), fs: .ext4, directory: "/proc") == nil)
        #expect(ChooseRunner.unmetNeed(ErofsOverlayBackend(), fs: .xfs, directory: "/proc") == nil)
        let row = ChooseRunner.Row(backend: "btrfs", mountOptions: "", fs: "ext4", traceNanoseconds: .nan, failedOperations: 0,
                                   upperBytes: 0, upperInodes: 0, reason: "not run: " + why, notRun: why)
        let cells = ChooseReport.cells(row)
        #expect(cells.first == "–" && cells[2] == "not run" && cells.last == "not run: " + why)
    }

    @Test("a rank inside the noise is indistinguishable from the fastest; one outside it gives its ratio and interval")
    func rankIntervals() {
        func row(_ backend: String, _ samples: [Double]) -> ChooseRunner.Row {
            ChooseRunner.Row(backend: backend, mountOptions: "", fs: "ext4", traceNanoseconds: samples.sorted()[samples.count / 2],
                             traceSamples: samples, failedOperations: 0, upperBytes: 0, upperInodes: 0)
        }
        let ranked = ChooseRanking.rank([row("fuse", [200, 210, 190]), row("kernel", [100, 104, 96]), row("plain", [98, 103, 99])],
                                        profile: "build")
        #expect(ranked.map(\.backend) == ["plain", "kernel", "fuse"])
        #expect(ranked[0].reason.hasPrefix("fastest; "))
        #expect(ranked[1].reason.hasPrefix("indistinguishable from the fastest (1.01×, 95% CI"))
        #expect(ranked[2].reason.hasPrefix("2.02× the fastest (95% CI"))
        #expect(ranked[2].reason.contains("3 and 3 repetitions"))
    }

    @Test("btrfs's reason is block copy-on-write, not a full copy")
    func btrfsReason() {
        let row = ChooseRunner.Row(backend: "btrfs", mountOptions: "", fs: "btrfs", traceNanoseconds: 1, failedOperations: 0,
                                   upperBytes: 0, upperInodes: 0)
        let reason = ChooseRanking.rank([row], profile: "build")[0].reason
        #expect(reason.contains("copies only the blocks it writes"))
        #expect(!reason.contains("copied in full"))
    }

    @Test("the webapp profile means its misses: one expected ENOENT per 20 operations, each a stat")
    func webappDeclaresItsMisses() throws {
        let profile = try WorkloadProfile.builtIn("webapp")
        #expect(profile.expectedErrors.count == 150)
        for (index, errno) in profile.expectedErrors {
            #expect(errno == "ENOENT")
            guard case .stat(let path) = profile.operations[index] else {
                Issue.record("operation \(index) is expected to fail but is not a stat")
                continue
            }
            #expect(path.contains("missing"))
        }
    }

    @Test("the ranking's reason names what the failed operations met")
    func reasonNamesTheOutcomes() {
        var row = ChooseRunner.Row(backend: "kernel", mountOptions: "", fs: "root", traceNanoseconds: 1e6,
                                   failedOperations: 3, failures: [("EXDEV", 2), ("ENOENT", 1)],
                                   upperBytes: 0, upperInodes: 0)
        row = ChooseRanking.rank([row], profile: "webapp")[0]
        #expect(row.reason.contains("3 operation(s) did not do what the trace means (EXDEV ×2, ENOENT ×1)"))
    }
}
