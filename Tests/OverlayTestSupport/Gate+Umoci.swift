import Foundation

extension Gate {
    /// umoci on `PATH`: the image tests compare an import with what `umoci unpack` makes of
    /// the same image (apt: umoci).
    public static let umoci = Gate("umoci", reason: "the flattened root filesystem an import is checked against comes from `umoci unpack` (apt: umoci)") {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/umoci") }
    }
}
