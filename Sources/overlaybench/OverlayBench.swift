import ArgumentParser

@main
struct OverlayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "overlaybench",
        abstract: "Measure what OverlayFS really costs: copy-up, lookups and reads.",
        discussion: """
            Exit codes: 0 success; 1 a benchmark failed (e.g. a sample did not verify); \
            64 bad usage or input; 65 a malformed input file; 66 missing input; 69 unsupported environment \
            (not root, no overlay, no io_uring); 70 internal error; 73 cannot create \
            (work root refused, not enough space); 74 I/O error; 130/143 interrupted by \
            SIGINT/SIGTERM (partial results are kept, marked incomplete).
            """,
        version: "0.1.0",
        subcommands: [DoctorCommand.self, GenerateCommand.self, RunCommand.self, TuneCommand.self, CleanupCommand.self,
                      ReportCommand.self, CompareCommand.self, ExportCommand.self, MergeCommand.self, ReplayCommand.self,
                      ChooseCommand.self, ImportCommand.self, ImageCommand.self]
    )
}
