import Foundation
import OverlayCore
import OverlayStatistics
import OverlaySystem

/// Sweeps the io_uring engine's queue depth, block size and fixed buffers on the current
/// filesystem, and stores the fastest settings for later runs to use.
public struct CopyTuning: Codable, Sendable {
    public var queueDepth: Int
    public var blockSize: Int
    public var fixedBuffers: Bool
    /// Median throughput of the winner, GB/s.
    public var throughput: Double
    public var fileSystem: String
    public var measuredAt: String

    public init(queueDepth: Int, blockSize: Int, fixedBuffers: Bool, throughput: Double, fileSystem: String, measuredAt: String) {
        self.queueDepth = queueDepth
        self.blockSize = blockSize
        self.fixedBuffers = fixedBuffers
        self.throughput = throughput
        self.fileSystem = fileSystem
        self.measuredAt = measuredAt
    }

    public var options: IOURingCopyOptions {
        IOURingCopyOptions(queueDepth: queueDepth, blockSize: blockSize, fixedBuffers: fixedBuffers)
    }

    /// `$XDG_CONFIG_HOME/overlaybench/copy-tuning.json`, or under `$HOME/.config`.
    public static var defaultPath: String {
        if let xdg = Host.environment("XDG_CONFIG_HOME"), !xdg.isEmpty { return xdg + "/overlaybench/copy-tuning.json" }
        return (Host.environment("HOME") ?? "/root") + "/.config/overlaybench/copy-tuning.json"
    }

    /// The stored tuning, if any; a missing or malformed file is nil (the defaults apply).
    public static func load(_ path: String = defaultPath) -> CopyTuning? {
        guard let bytes = try? FileSystem.readFile(path) else { return nil }
        return try? JSONDecoder().decode(CopyTuning.self, from: Data(bytes))
    }

    /// Stores the tuning atomically. The configuration directory (`overlaybench/` and the
    /// `.config/` above it) is OverlayBench's own, so it is made when missing, one level at a
    /// time; anything above it must exist.
    public func save(_ path: String = defaultPath) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let directory = AtomicFile.directory(of: path)
        if path == Self.defaultPath {
            try AtomicFile.makeDirectory(AtomicFile.directory(of: directory))
            try AtomicFile.makeDirectory(directory)
        }
        try AtomicFile.write(try encoder.encode(self), to: path, overwrite: true)
    }

    public struct Candidate: Sendable, Hashable {
        public var queueDepth: Int
        public var blockSize: Int
        public var fixedBuffers: Bool
        public init(queueDepth: Int, blockSize: Int, fixedBuffers: Bool) {
            self.queueDepth = queueDepth
            self.blockSize = blockSize
            self.fixedBuffers = fixedBuffers
        }
        var label: String { "qd=\(queueDepth) bs=\(ByteCount.format(Int64(blockSize))) fixed=\(fixedBuffers)" }
    }

    /// Times every candidate on a `size`-byte warm file, interleaved, `samples` rounds; returns
    /// each candidate's median GB/s, best first.
    public static func sweep(candidates: [Candidate], size: Int64, samples: Int, directory: String, log: ProgressLog) throws -> [(Candidate, Double)] {
        let source = directory + "/tune-src"
        try SourceFile.write(path: source, size: size, sparse: false, seed: 1)
        defer { try? FileDescriptor.currentWorkingDirectory.unlink(source) }
        var engines: [(Candidate, any CopyEngine)] = []
        for candidate in candidates {
            let options = IOURingCopyOptions(queueDepth: candidate.queueDepth, blockSize: candidate.blockSize, fixedBuffers: candidate.fixedBuffers)
            do { try options.validate() } catch { continue }
            engines.append((candidate, try IOURingCopyEngine(options: options)))
        }
        var results: [Candidate: [Double]] = [:]
        for round in 0..<(samples + 1) {
            for (candidate, engine) in engines {
                try SignalTrap.check()
                try SourceFile.readThrough(source)
                let input = try FileDescriptor.open(source, .readOnly)
                let output = try FileDescriptor.open(directory + "/tune-dst", [.readWrite, .create, .truncate], mode: 0o600)
                let start = MonotonicClock.now()
                _ = try engine.copy(from: input, to: output, length: size, options: CopyOptions())
                let elapsed = MonotonicClock.now() - start
                input.closeIgnoringErrors()
                output.closeIgnoringErrors()
                try FileDescriptor.currentWorkingDirectory.unlink(directory + "/tune-dst")
                if round > 0 { results[candidate, default: []].append(Double(size) / Double(elapsed)) }
            }
            log.progress("tune copy", done: round + 1, of: samples + 1)
        }
        return results.map { ($0.key, Summary(samples: $0.value).p50) }.sorted { $0.1 > $1.1 }
    }
}

