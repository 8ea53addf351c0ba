import Foundation
import OverlayCore
import OverlayStatistics

/// Orders a profile's variants by whole-trace time and says, in one line each, why a variant
/// sits where it does: the mechanism that explains its cost, with the figure that shows it.
public enum ChooseRanking {
    /// Fastest first; failed operations do not change the order, but are named in the reason.
    public static func rank(_ rows: [ChooseRunner.Row], profile: String) -> [ChooseRunner.Row] {
        var ranked = rows.sorted { ($0.traceNanoseconds, $0.variantLabel) < ($1.traceNanoseconds, $1.variantLabel) }
        guard let fastest = ranked.first else { return ranked }
        for index in ranked.indices {
            ranked[index].rank = index + 1
            ranked[index].reason = lead(ranked[index], fastest: fastest) + "; " + reason(ranked[index], profile: profile)
        }
        return ranked
    }

    /// Where a row stands against the fastest: its ratio of medians with a bootstrap interval
    /// over the repetitions, and "indistinguishable" when the interval takes in 1, since an
    /// order inside the noise is no verdict.
    static func lead(_ row: ChooseRunner.Row, fastest: ChooseRunner.Row) -> String {
        if row.rank == 1 { return "fastest" }
        let samples = (fastest.traceSamples, row.traceSamples)
        guard !samples.0.isEmpty, !samples.1.isEmpty, fastest.traceNanoseconds > 0 else {
            return String(format: "%.2f× the fastest", fastest.traceNanoseconds > 0 ? row.traceNanoseconds / fastest.traceNanoseconds : 1)
        }
        let (ratio, ci) = Bootstrap.ratioOfMediansCI(baseline: samples.0, current: samples.1)
        let interval = String(format: "95%% CI %.2f–%.2f, %d and %d repetitions", ci.lower, ci.upper, samples.0.count, samples.1.count)
        if ci.lower <= 1 {
            return String(format: "indistinguishable from the fastest (%.2f×, ", ratio) + interval + ")"
        }
        return String(format: "%.2f× the fastest (", ratio) + interval + ")"
    }

    static func reason(_ row: ChooseRunner.Row, profile: String) -> String {
        var parts: [String] = []
        let options = (try? OverlayMountOptions(parsing: row.mountOptions)) ?? .defaults
        let clonesHere = BackingFilesystemKind(rawValue: row.fs)?.clonesOnCopyUp ?? false
        let perMiB = row.copyUpMicrosecondsPerMiB.map { String(format: "%.0f µs/MiB", $0) }
        // A result names its backend; what the backend does comes from its declared capabilities.
        let capabilities = BackendKind.capabilities(of: row.backend)
        if let capabilities, capabilities.blockCopyOnWrite {
            parts.append("\(row.backend) snapshots: no copy-up; a first write copies only the blocks it writes, and the layers are snapshots made before the container starts (not timed here)")
        } else if let capabilities, !capabilities.layered {
            parts.append("no copy-up at all: the image is copied in full when the container is made (not timed here)")
        } else if let capabilities, capabilities.server == .userSpaceDaemon {
            parts.append("\(row.backend): " + (capabilities.fsyncsCopyUp ? "" : "copy-up skips fsync, but ")
                         + "every operation crosses to a user-space daemon")
        } else if let capabilities, capabilities.server == .inProcess {
            parts.append("in-process \(row.backend) overlay: no mount, copy-up by its own copy engine")
        } else {
            if let images = capabilities?.lowerLayerImages {
                parts.append("lower layers are read-only \(images) images, built and mounted before the container starts (not timed here)")
            }
            var copyUp: [String] = []
            if clonesHere && capabilities?.clone == true {
                copyUp.append("\(row.fs) reflink makes copy-up O(1) (\(perMiB ?? "flat"))")
            } else if clonesHere && capabilities?.clone == false {
                copyUp.append("\(row.backend) copy-up cannot clone, so \(row.fs)'s reflink does not help: every byte is copied (\(perMiB ?? "–"))")
            } else if row.fs == "xfs-noreflink" {
                copyUp.append("xfs without reflink copies every byte on copy-up (\(perMiB ?? "–"))")
            } else if row.fs == "tmpfs" {
                copyUp.append("tmpfs: copy-up is a memory copy with no disk fsync, but the upper layer is lost on reboot")
            }
            if options.metacopy && (profile == "chown-r") {
                copyUp.append("metacopy=on copies up only metadata on chown/chmod")
            } else if options.metacopy {
                copyUp.append("metacopy=on saves data copy-up only on metadata-only changes")
            }
            if options.isVolatile { copyUp.append("volatile skips the copy-up fsync") }
            if options.options.contains(where: { $0.name == "index" && $0.value == "on" }) {
                copyUp.append("index=on adds an index entry per copy-up")
            }
            if options.redirectDir { copyUp.append("redirect_dir=on only matters for directory renames") }
            if copyUp.isEmpty {
                copyUp.append("kernel defaults: copy-up copies data and fsyncs (\(perMiB ?? "–"))")
            }
            parts += copyUp
        }
        if row.failedOperations > 0 {
            let what = row.failures.prefix(3).map { "\($0.outcome) ×\($0.count)" }.joined(separator: ", ")
            parts.append("\(row.failedOperations) operation(s) did not do what the trace means" + (what.isEmpty ? "" : " (\(what))"))
        }
        return parts.joined(separator: "; ")
    }
}
