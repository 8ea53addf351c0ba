import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

/// `--image DIR`: measure an imported image's own files and names instead of a generated tree.
struct ImageOptions: ParsableArguments {
    @Option(name: .long, help: "A directory written by `overlaybench import`: measure the image's own files and names instead of a generated tree.")
    var image: String?

    /// The image, read before anything runs; a directory import did not write is exit 66 (65
    /// for a malformed image.json).
    func load() throws -> ImageWorkload? {
        guard let image else { return nil }
        var workload: ImageWorkload?
        try ImageCommandErrors.reporting {
            workload = try ImageWorkload(directory: try FileSystem.absolute(image))
        }
        return workload
    }
}

/// `run copyup --image DIR --sample-files N`.
struct ImageSampleOptions: ParsableArguments {
    @Option(name: .long, help: "With --image: first-write this many of the image's regular files, drawn by size class (seeded by --seed), each one round (after --warmup rounds of one file per class); --samples, --sizes and --layers do not apply.")
    var sampleFiles: Int = 20

    func validate() throws {
        guard sampleFiles >= 1 else { throw ValidationError("--sample-files must be at least 1 (got \(sampleFiles))") }
    }
}

/// The image probes, sampled with the plan every probe shares (``RunOptions/samplingPlan(fs:)``).
extension ImageWorkload {
    func copyUpProbe(sampleFiles: Int, control: Bool, options: RunOptions, fs: String, log: ProgressLog) throws -> any Probe {
        var configuration = ImageCopyUpProbe.Configuration()
        configuration.sampling = try options.samplingPlan(fs: fs)
        configuration.sampleFiles = sampleFiles
        configuration.control = control
        return ImageCopyUpProbe(configuration: configuration, workload: self, backends: try options.variants(), log: log)
    }

    func lookupProbe(options: RunOptions, fs: String, log: ProgressLog) throws -> any Probe {
        var configuration = ImageLookupProbe.Configuration()
        configuration.sampling = try options.samplingPlan(fs: fs)
        return ImageLookupProbe(configuration: configuration, workload: self, backends: try options.variants(), log: log)
    }

    func readProbe(options: RunOptions, fs: String, log: ProgressLog) throws -> any Probe {
        var configuration = ImageReadProbe.Configuration()
        configuration.sampling = try options.samplingPlan(fs: fs)
        return ImageReadProbe(configuration: configuration, workload: self, backends: try options.variants(), log: log)
    }
}
