import OverlayCore

/// What moves a run's figures beyond noise, read from its environment and measurements, so that
/// the caveats `doctor` warns about travel with the numbers: into the report's environment
/// section and into the caption of every plot they affect.
public struct ReportCaveat: Sendable, Hashable {
    /// Which figures it affects.
    public enum Scope: Sendable, Hashable {
        /// Everything timed.
        case all
        /// Copy-up and anything else that creates files.
        case fileCreation
        /// Cold lookups on fuse-overlayfs.
        case coldFuseLookups
    }

    public var scope: Scope
    public var text: String

    /// The caveats of one run.
    public static func caveats(_ environment: RunEnvironment, _ measurements: [Measurement]) -> [ReportCaveat] {
        var result: [ReportCaveat] = []
        for fs in environment.backingFilesystems {
            if fs.journal == false {
                result.append(ReportCaveat(scope: .fileCreation, text:
                    "\(fs.name) (\(fs.source)) is ext4 without a journal: its inode allocator skips inodes freed in the last minutes, "
                    + "so file creation, and with it every copy-up, slows down after a run deletes its trees"))
            }
            if (fs.mountOptions + "," + fs.superOptions).split(separator: ",").contains("discard") {
                result.append(ReportCaveat(scope: .fileCreation, text:
                    "\(fs.name) is mounted with online discard: trees deleted by earlier samples are trimmed while later ones fsync"))
            }
        }
        if environment.cpuCount <= 2 {
            result.append(ReportCaveat(scope: .all, text:
                "only \(environment.cpuCount) CPUs, shared with whatever else runs on the host: absolute times move by tens of percent "
                + "from minute to minute, so compare configurations measured side by side in one run"))
        }
        let coldFuse = measurements.contains {
            $0.probe == "lookup" && BackendKind.capabilities(of: $0.backend)?.keepsOwnNodeCache == true && $0.text("cache") == "cold"
        }
        if coldFuse {
            result.append(ReportCaveat(scope: .coldFuseLookups, text:
                "fuse-overlayfs keeps its own node cache in the daemon, which drop_caches does not empty: its cold lookups are warmer than the kernel's"))
        }
        return result
    }
}
