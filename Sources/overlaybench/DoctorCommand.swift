import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check what this host can run; exits 0 when the kernel backend can, 69 when it cannot.",
        discussion: """
            Checks kernel, root, overlay and its module parameters, erofs (in /proc/filesystems, \
            mkfs.erofs's version, file-backed mounts), btrfs (in /proc/filesystems, mkfs.btrfs's \
            version, whether the work root is on btrfs), io_uring, liburing, the work root's \
            filesystem, d_type, O_TMPFILE, reflink, metacopy, fuse-overlayfs (its own version, \
            from `fuse-overlayfs --version`) and drop_caches.

            What it changes: the work root is created and marked if it does not exist. The \
            d_type, O_TMPFILE and reflink checks create small files in a scratch run directory \
            inside the work root (<work-root>/run-<pid>-<random>), removed afterwards. \
            \(Doctor.mountingChecks.map { "The \($0.0) check \($0.1)." }.joined(separator: " ")) \
            No other check mounts anything, drops caches or starts a daemon.
            """)

    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    @Option(name: .long, help: "The work root to check.")
    var workRoot: String = WorkRoot.defaultPath

    func run() throws {
        let report = Doctor(workRootPath: workRoot).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            FileHandle.standardOutput.write(try encoder.encode(report) + Data("\n".utf8))
        } else {
            // Details wrap under their own column, so every line fits 160 columns.
            let width = report.checks.map(\.name.count).max() ?? 0
            let indent = String(repeating: " ", count: 6 + width + 2)
            for check in report.checks {
                let pad = String(repeating: " ", count: width - check.name.count)
                let head = "\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  \(check.name)\(pad)  "
                for (index, line) in TextWrap.lines(check.detail, width: 160 - indent.count).enumerated() {
                    print((index == 0 ? head : indent) + line)
                }
                if let advice = check.advice {
                    for (index, line) in TextWrap.lines(advice, width: 160 - indent.count - 2).enumerated() {
                        print(indent + (index == 0 ? "→ " : "  ") + line)
                    }
                }
            }
            print(report.kernelBackendRunnable ? "\nThe kernel backend can run here." : "\nThe kernel backend cannot run here.")
        }
        if !report.kernelBackendRunnable { throw ExitCode(ExitStatus.unavailable) }
    }
}

struct CleanupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cleanup",
        abstract: "Remove the mounts and trees that runs left in a work root (after a crash or SIGKILL).")

    @Option(name: .long, help: "The work root to clean.")
    var workRoot: String = WorkRoot.defaultPath

    func run() throws {
        let log = ProgressLog()
        let root = try WorkRoot.prepare(workRoot)
        let (unmounted, removed) = Janitor.cleanAll(root, log: log)
        print("cleanup \(root.path): \(unmounted) mount(s) removed, \(removed) run director\(removed == 1 ? "y" : "ies") removed")
    }
}
