import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace of file operations on a merged view and print what each returned.",
        discussion: """
            The trace is JSON Lines, one operation per line, e.g. \
            {"op":"write","path":"a/b","offset":0,"length":4,"byte":65}. Operations: open (flags from \
            read, write, trunc, create, excl, append), write, read, truncate, unlink, rmdir, stat, \
            readdir, mkdir, chmod, chown, utimes, rename, link, symlink, setxattr, removexattr. \
            Each prints one line: ok (read adds the SHA-256 of the bytes, stat the type, mode and \
            size, readdir the sorted names) or the errno name. Paths resolve inside the merged root \
            (RESOLVE_IN_ROOT). A missing or unreadable trace exits 66 with the errno; an empty one, or a malformed line, exits 65 naming the line and field.
            """)

    @Argument(help: "The trace file (JSON Lines).")
    var trace: String

    @Option(name: .long, help: "The backend: \(BackendKind.allIdentifiers.joined(separator: ", ")).")
    var backend: String = "kernel"

    @Option(name: .long, help: "Lower directories, top-first, separated by ':'.")
    var lower: String

    @Option(name: .long, help: "The upper directory.")
    var upper: String

    @Option(name: .long, help: "The work directory (same filesystem as upper).")
    var work: String

    @Option(name: .long, help: "Overlay mount options, e.g. metacopy=on,redirect_dir=on.")
    var mountOptions: String = ""

    @Flag(name: .long, help: "After the operations, print the merged view and the upper directory.")
    var dump = false

    @Flag(name: .long, help: "Add each operation's latency in nanoseconds.")
    var timing = false

    func validate() throws {
        guard !lower.isEmpty else { throw ValidationError("--lower needs at least one directory") }
        do { _ = try OverlayMountOptions(parsing: mountOptions) } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        let operations = try ReplayTrace.load(trace)
        let chosen = try BackendKind.make(identifier: backend)
        if case .unavailable(let why) = chosen.availability() { throw BackendError.unavailable(chosen.identifier, why) }
        let options = try OverlayMountOptions(parsing: mountOptions)
        let scratch = "/var/tmp/overlaybench-replay-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        try FileDescriptor.currentWorkingDirectory.makeDirectory(scratch, mode: 0o700)
        defer { try? TreeRemover.remove(scratch) }
        let stack = try LayerStack.adopting(
            lower: lower.split(separator: ":").map { try FileSystem.absolute(String($0)) },
            upper: FileSystem.absolute(upper), work: FileSystem.absolute(work), scratch: scratch)
        try withMergedView(chosen, stack, options: options) { view in
            let target = makeReplayTarget(for: view)
            let executor = ReplayExecutor(target: target, timing: timing)
            for operation in operations { print(executor.run(operation)) }
            if dump {
                for line in try TreeDump.dump(target, upperPath: view.upperPath) { print(line) }
            }
        }
    }
}
