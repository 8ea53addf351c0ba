import ArgumentParser
import OverlayCore
import OverlaySuite
import OverlaySystem

/// The matrix every probe runs: backends × mount-option sets, interleaved, on each filesystem.
extension RunOptions {
    /// `--fs root,ext4,…`.
    func filesystems() throws -> [BackingFilesystemKind] {
        try BackingFilesystemKind.parseList(fs)
    }

    func filesystemSize() throws -> Int64 {
        try ByteCount.parse(fsSize)
    }

    /// `--mount-options 'volatile;metacopy=on'`: option sets separated by `;`, an empty set
    /// meaning the kernel's defaults (`';volatile'` is the defaults and volatile).
    func mountOptionSets() throws -> [OverlayMountOptions] {
        try Self.parseOptionSets(mountOptions)
    }

    static func parseOptionSets(_ text: String) throws -> [OverlayMountOptions] {
        var sets: [OverlayMountOptions] = []
        for item in text.split(separator: ";", omittingEmptySubsequences: false) {
            let set = try OverlayMountOptions(parsing: item.trimmingCharacters(in: .whitespaces))
            if !sets.contains(set) { sets.append(set) }
        }
        return sets
    }

    /// Each backend once per option set it takes (fuse and plain take only the defaults), in the
    /// order they are interleaved.
    func variants() throws -> [any OverlayBackend] {
        MountVariantBackend.expand(try backends(), optionSets: try mountOptionSets())
    }

    /// The checks `validate()` adds for these options.
    func validateMatrix() throws {
        do {
            _ = try filesystems()
            _ = try OptionValues.size(fsSize, "--fs-size", minimum: 300 << 20, why: "btrfs and xfs need room for their logs")
            _ = try mountOptionSets()
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension RunSession {
    /// Runs `body` once per filesystem with the directory to run in there (made on first use).
    func forEachFilesystem(_ kinds: [BackingFilesystemKind], size: Int64, _ body: (BackingFilesystemKind, String) throws -> Void) throws {
        for kind in kinds {
            try SignalTrap.check()
            let directory = try directory(for: kind, size: size)
            if kinds.count > 1 { log.info("filesystem \(kind.rawValue): \(directory)") }
            try body(kind, directory)
        }
    }

}
