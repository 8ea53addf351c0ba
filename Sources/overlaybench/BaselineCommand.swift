import ArgumentParser
import Foundation
import OverlaySuite

/// `overlaybench baseline save|list|show`: the named baselines a nightly job compares against.
struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Save, list and show named baselines for `compare --baseline NAME`.",
        discussion: """
            A baseline is a result file kept as DIR/NAME.json (DIR defaults to \
            \(BaselineStore.defaultDirectory)). `save` refuses an empty or incomplete run, and \
            replaces an existing baseline only with --force.
            """,
        subcommands: [Save.self, List.self, Show.self])

    struct Location: ParsableArguments {
        @Option(name: .long, help: "The baselines directory (made if missing; its parent must exist).")
        var baselines: String = BaselineStore.defaultDirectory

        var store: BaselineStore { BaselineStore(directory: baselines) }
    }

    struct Save: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Save a result file as the baseline NAME.")

        @Argument(help: "The baseline's name (letters, digits, '.', '_', '-').")
        var name: String

        @Argument(help: "The result file to keep.")
        var result: String

        @OptionGroup var location: Location

        @Flag(name: .long, help: "Replace an existing baseline of that name.")
        var force = false

        func validate() throws {
            do { try BaselineStore.validate(name: name) } catch { throw ValidationError("\(error)") }
        }

        func run() throws {
            let path = try location.store.save(name, from: result, replacing: force)
            print("saved baseline \(name) as \(path)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the saved baselines: name, host, kernel, start time, measurements.")

        @OptionGroup var location: Location

        func run() throws {
            let store = location.store
            let names = store.list()
            if names.isEmpty {
                print("no baselines in \(store.directory)")
                return
            }
            for name in names {
                let result = try store.load(name)
                let e = result.environment
                print("\(name)  \(e.hostname)  kernel \(e.kernel)  \(e.startTime)  \(result.measurements.count) measurements")
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one baseline: where it was run and what it holds.")

        @Argument(help: "The baseline's name.")
        var name: String

        @OptionGroup var location: Location

        func run() throws {
            let store = location.store
            let result = try store.load(name)
            let e = result.environment
            print("baseline \(name): \(store.path(of: name))")
            print("host \(e.hostname), kernel \(e.kernel), \(e.cpuModel) × \(e.cpuCount), git \(e.gitRevision)")
            print("run \(e.startTime) → \(e.endTime ?? "?"): \(e.commandLine.joined(separator: " "))")
            var probes: [String: Int] = [:]
            for m in result.measurements { probes[m.probe, default: 0] += 1 }
            print("measurements: " + probes.keys.sorted().map { "\($0) \(probes[$0]!)" }.joined(separator: ", "))
        }
    }
}
