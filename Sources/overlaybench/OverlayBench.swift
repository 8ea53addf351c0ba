import ArgumentParser

@main
struct OverlayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlaybench",
        abstract: "Measure what OverlayFS really costs: copy-up, lookups and reads.",
        discussion: """
            Every error is one line on stderr. Exit codes: 0 success; 1 a benchmark failed (e.g. \
            a sample did not verify); 64 bad usage or input (an option value out of range, a work \
            root OverlayBench did not create); 65 a malformed input file (empty, not JSON or YAML, \
            another schema, a missing field, a bad trace line); 66 an input file that is missing \
            or cannot be read (ENOENT, EACCES, EISDIR); 69 unsupported environment (not root, no \
            overlay, no io_uring); 70 internal error; 73 cannot create an output (its directory \
            is missing, it exists without --force, not enough space); 74 I/O error (EIO); \
            130/143 interrupted by SIGINT/SIGTERM (partial results are kept, marked incomplete). \
            `compare` has its own codes (see its help).
            """,
        version: "0.1.0",
        subcommands: [DoctorCommand.self, GenerateCommand.self, RunCommand.self, TuneCommand.self, CleanupCommand.self,
                      ReportCommand.self, CompareCommand.self, BaselineCommand.self, ExportCommand.self, MergeCommand.self, ReplayCommand.self,
                      ChooseCommand.self, ImportCommand.self, ImageCommand.self]
    )

    /// ArgumentParser's `main`, with one difference: every error, its own or a command's, is
    /// one line on stderr with the code ``ExitStatus`` documents. ArgumentParser's usage errors
    /// keep its exit 64 but not its usage block (`--help` prints that); help and version requests
    /// print as ArgumentParser prints them.
    static func main() {
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exitReporting(error)
        }
        do {
            try command.run()
        } catch {
            exitReporting(error)
        }
        Self.exit(withError: nil)
    }

    private static func exitReporting(_ error: any Error) -> Never {
        if let ours = ExitStatus.code(for: error) { ExitStatus.fail(ExitStatus.message(for: error), code: ours) }
        if let exit = error as? ExitCode {
            // A command that already said what went wrong (doctor, compare).
            Self.exit(withError: exit)
        }
        let code = exitCode(for: error)
        if code == .success { Self.exit(withError: error) }  // --help, --version, CleanExit
        if code == .validationFailure { ExitStatus.fail(message(for: error), code: ExitStatus.usage) }
        // Not in ExitStatus's table: a bug to fix there, so say it is internal.
        ExitStatus.fail("internal error: \(ExitStatus.message(for: error))", code: ExitStatus.software)
    }
}
