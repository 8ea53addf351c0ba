import OverlayCore
import OverlayStatistics
import OverlaySystem

/// The read probe's trials, one per metric, for any file through any view: the synthetic probe
/// reads its generated file, the image probe each layer's largest file. Each warms by reading
/// the whole file through the view, and times only the reads it names.
extension ReadProbe {
    /// The read buffers the trials share: 1 MiB for the sequential reads, 4 KiB of it for the
    /// others. They live as long as a trial that holds them.
    final class Buffers {
        let sequential = UnsafeMutableRawBufferPointer.allocate(byteCount: ReadProbe.sequentialBuffer, alignment: 4096)
        let block: UnsafeMutableRawBufferPointer

        init() { block = UnsafeMutableRawBufferPointer(rebasing: sequential[0..<ReadProbe.blockSize]) }

        deinit { sequential.deallocate() }
    }

    /// The file one place's trials read.
    struct Target {
        var view: any MergedView
        /// Relative to the merged root.
        var path: String
        var size: Int64
        var quiescer: Quiescer
        var buffers: Buffers

        /// Warm: the whole file read through the view.
        func readThrough() throws {
            let fd = try view.open(path, .readOnly, mode: 0)
            defer { fd.closeIgnoringErrors() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffers.sequential, at: offset), n > 0 { offset += Int64(n) }
        }

        func trial(_ key: SampleBook.Key?, operation: @escaping (inout Stopwatch) throws -> Void,
                   verify: @escaping (Stopwatch) throws -> [Reading] = { _ in [] }) -> Trial {
            Trial(key: key, writes: false, quiescer: quiescer, view: view, warm: readThrough, operation: operation, verify: verify)
        }
    }

    /// `open(O_RDONLY)` alone; the descriptor is closed after the clock stopped.
    static func openTrial(_ target: Target, key: SampleBook.Key) -> Trial {
        let (view, path) = (target.view, target.path)
        return target.trial(key, operation: { watch in watch.outcome = Int64(try view.open(path, .readOnly, mode: 0).rawValue) },
                            verify: { watch in
                                try FileDescriptor(rawValue: CInt(watch.outcome)).closeChecked(path: path)
                                return []
                            })
    }

    /// `open`, `pread` of 4 KiB at 0, `close`.
    static func firstByteTrial(_ target: Target, key: SampleBook.Key) -> Trial {
        let (view, path, buffers) = (target.view, target.path, target.buffers)
        return target.trial(key, operation: { _ in
            let fd = try view.open(path, .readOnly, mode: 0)
            do { _ = try fd.pread(into: buffers.block, at: 0) } catch {
                fd.closeIgnoringErrors()
                throw error
            }
            try fd.closeChecked(path: path)
        })
    }

    /// A 4 KiB `pread` at each of `offsets` after `POSIX_FADV_RANDOM`, each one a lap and a
    /// `key` sample; `recorded` gets the latencies too (for a histogram).
    static func randomReadTrial(_ target: Target, offsets: [Int64], key: SampleBook.Key, recorded: @escaping ([UInt64]) -> Void) -> Trial {
        let (view, path, buffers) = (target.view, target.path, target.buffers)
        return target.trial(nil, operation: { watch in
            let fd = try view.open(path, .readOnly, mode: 0)
            try? fd.advise(.random)
            do {
                for offset in offsets {
                    let begin = MonotonicClock.now()
                    let n = try fd.pread(into: buffers.block, at: offset)
                    watch.record("randomRead", MonotonicClock.now() - begin)
                    if n != ReadProbe.blockSize { throw ProbeError.verificationFailed("\(view.backend): short read of \(n) bytes at \(offset) of \(path)") }
                }
            } catch {
                fd.closeIgnoringErrors()
                throw error
            }
            try fd.closeChecked(path: path)
        }, verify: { watch in
            let latencies = watch.laps(named: "randomRead")
            recorded(latencies)
            return latencies.map { Reading(key: key, value: Double($0)) }
        })
    }

    /// The whole file in 1 MiB `pread`s, the open not timed; `key` (GB/s) records its size over
    /// the time of the reads, after checking that all of it was read.
    static func sequentialReadTrial(_ target: Target, key: SampleBook.Key) -> Trial {
        let (view, path, size, buffers) = (target.view, target.path, target.size, target.buffers)
        return target.trial(nil, operation: { watch in
            let fd = try view.open(path, .readOnly, mode: 0)
            let begin = MonotonicClock.now()
            var bytesRead: Int64 = 0
            do {
                while case let n = try fd.pread(into: buffers.sequential, at: bytesRead), n > 0 { bytesRead += Int64(n) }
            } catch {
                fd.closeIgnoringErrors()
                throw error
            }
            watch.record("sequentialRead", MonotonicClock.now() - begin)
            watch.outcome = bytesRead
            try fd.closeChecked(path: path)
        }, verify: { watch in
            guard watch.outcome == size else {
                throw ProbeError.verificationFailed("\(view.backend): read \(watch.outcome) bytes of \(path), which has \(size)")
            }
            let elapsed = watch.laps(named: "sequentialRead").first ?? 1
            return [Reading(key: key, value: Double(size) / Double(max(elapsed, 1)))]
        })
    }
}
