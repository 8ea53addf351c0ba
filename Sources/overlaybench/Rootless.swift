import OverlaySystem

/// `--rootless`: re-runs this command as root of a new user namespace with its own mount
/// namespace (`unshare --user --map-root-user --mount`). There the kernel overlay mounts with
/// `userxattr` (kernel 5.11+), and every mount vanishes with the namespace when the process ends.
enum Rootless {
    static let marker = "OVERLAYBENCH_ROOTLESS"

    static func enterUserNamespace() throws {
        if Host.isRoot && Host.environment(marker) == nil && Host.inInitialUserNamespace { return }  // real root: nothing to do
        if Host.environment(marker) != nil { return }  // already inside
        let kernel = Host.kernelVersion()
        guard kernel.major > 5 || (kernel.major == 5 && kernel.minor >= 11) else {
            throw RootlessError("--rootless needs kernel 5.11 or later for overlay's userxattr (this is \(Host.uname().release))")
        }
        guard let unshare = ChildProcess.findExecutable("unshare") else {
            throw RootlessError("--rootless needs unshare(1) from util-linux")
        }
        let executable = (try? Host.realPath("/proc/self/exe")) ?? CommandLine.arguments[0]
        try Host.replaceProcess(with: unshare, arguments: ["unshare", "--user", "--map-root-user", "--mount", "--", executable]
            + CommandLine.arguments.dropFirst(), adding: [marker: "1"])
    }
}

struct RootlessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
