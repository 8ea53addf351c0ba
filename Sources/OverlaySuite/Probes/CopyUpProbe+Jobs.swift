import Dispatch
import Foundation
import OverlayCore
import OverlaySystem
import Synchronization

/// Copy-up under concurrency: `jobs` threads are started, park on a gate, and are released
/// together, each timing its own `open(O_WRONLY)`, `pwrite` of 1 byte, `close`.
///
/// - `distinct`: thread t first-writes its own lower file `j<i>-<t>`; metric `parallelFirstWrite`
///   (ns) is each thread's latency, and `firstWriteThroughput` (files/s) is `jobs` over the span
///   from the first thread's start to the last one's end. Overlay copies different files up in
///   parallel, so on a disk that is not saturated this should grow with `jobs`.
/// - `same`: every thread writes one lower file `r<i>`, thread t its own byte at offset t; metric
///   `raceLatency` (ns) is each thread's latency. Overlay's per-inode copy-up lock must let
///   exactly one copy-up happen: every open must succeed and upper must hold one full copy with
///   every thread's byte in it (a second copy-up replacing the first would lose bytes written
///   to the first).
/// Threads are Foundation threads, not a pool: copy-ups block in fsync, and a pool the width of
/// the CPU count would serialize them.
extension CopyUpProbe {
    struct JobTiming: Sendable {
        var start: UInt64
        var end: UInt64
        var error: String?
    }

    /// The byte thread `t` writes in `same` mode (at offset `t`).
    static func raceByte(_ thread: Int) -> UInt8 { CopyUpVerifier.writtenByte &+ UInt8(truncatingIfNeeded: thread) }

    /// One round's trials: per size and view, `jobs` threads released together. The sampler's
    /// clock spans the release; each thread's own latency is a lap.
    func jobTrials(_ views: [(stack: LayerStack, view: any MergedView)], jobs: Int, round i: Int) throws -> [Trial] {
        let verifier = CopyUpVerifier()
        let same = configuration.jobsMode == .same
        var trials: [Trial] = []
        for size in configuration.sizes {
            for (stack, view) in views {
                let files = paths(size: size, index: i)
                let calls = ViewCalls(view)
                let metric = same ? "raceLatency" : "parallelFirstWrite"
                trials.append(Trial(
                    key: nil, writes: true, quiescer: try sampler.quiescer(stack, view), view: view,
                    warm: { for path in files { try SourceFile.readThrough(stack.lowerLayers[0].diff + "/" + path) } },
                    operation: { watch in
                        let timings = Self.runThreads(jobs, calls: calls) { t in
                            same ? (files[0], Int64(t), Self.raceByte(t)) : (files[t], 0, CopyUpVerifier.writtenByte)
                        }
                        let failures = timings.enumerated().compactMap { t, timing in timing.error.map { "thread \(t): \($0)" } }
                        guard failures.isEmpty else {
                            throw ProbeError.verificationFailed("\(view.backend): \(failures.count) of \(jobs) writers failed: \(failures.joined(separator: "; "))")
                        }
                        for timing in timings { watch.record(metric, timing.end - timing.start) }
                        watch.record("span", timings.map(\.end).max()! - timings.map(\.start).min()!)
                    },
                    verify: { watch in
                        if same {
                            var expected = CopyUpVerifier.Expectation(upperName: files[0], lowerName: files[0], lowerSize: size,
                                                                      size: max(size, Int64(jobs)), sparse: configuration.sparse)
                            for t in 0..<jobs { expected.written[Int64(t)] = Self.raceByte(t) }
                            try verifier.verify(expected, stack: stack, view: view)
                        } else {
                            for path in files {
                                try verifier.verify(CopyUpTrigger.write.expectation(path, size: size, sparse: configuration.sparse, metacopy: false),
                                                    stack: stack, view: view)
                            }
                        }
                        var readings = watch.laps(named: metric).map { Reading(key: key(view, metric, size: size), value: Double($0)) }
                        if !same, let span = watch.laps(named: "span").first {
                            readings.append(Reading(key: key(view, "firstWriteThroughput", size: size, unit: "files/s"),
                                                    value: Double(jobs) / (Double(span) / 1e9)))
                        }
                        return readings
                    },
                    release: {
                        for path in files {
                            try Self.release(path, through: calls, stack: stack, view: view, upperName: path)
                        }
                    }))
            }
        }
        return trials
    }

    /// Starts `count` threads, waits until all are parked, releases them together, and returns
    /// each one's timing. `work(t)` names thread t's file, offset and byte.
    static func runThreads(
        _ count: Int, calls: ViewCalls, work: (Int) -> (path: String, offset: Int64, byte: UInt8)
    ) -> [JobTiming] {
        let slots = JobSlots(count)
        let ready = DispatchSemaphore(value: 0), go = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
        for t in 0..<count {
            let (path, offset, value) = work(t)
            let thread = Thread {
                let byte = UnsafeMutableRawBufferPointer.allocate(byteCount: 1, alignment: 1)
                byte[0] = value
                ready.signal()
                go.wait()
                let timing = firstWrite(calls, path, UnsafeRawBufferPointer(byte), at: offset)
                byte.deallocate()
                slots.store(timing, at: t)
                done.signal()
            }
            thread.start()
        }
        for _ in 0..<count { ready.wait() }
        for _ in 0..<count { go.signal() }
        for _ in 0..<count { done.wait() }
        return slots.all()
    }

    /// `open(O_WRONLY)`, `pwrite`, `close`, timed; an error is returned, not thrown, from a thread.
    private static func firstWrite(_ calls: ViewCalls, _ path: String, _ byte: UnsafeRawBufferPointer, at offset: Int64) -> JobTiming {
        let start = MonotonicClock.now()
        let fd: FileDescriptor
        do { fd = try calls.open(path, .writeOnly) } catch {
            return JobTiming(start: start, end: MonotonicClock.now(), error: "\(error)")
        }
        do { _ = try fd.pwrite(byte, at: offset) } catch {
            fd.closeIgnoringErrors()
            return JobTiming(start: start, end: MonotonicClock.now(), error: "\(error)")
        }
        do { try fd.closeChecked(path: path) } catch {
            return JobTiming(start: start, end: MonotonicClock.now(), error: "\(error)")
        }
        return JobTiming(start: start, end: MonotonicClock.now(), error: nil)
    }
}

/// Where the threads leave their timings.
final class JobSlots: Sendable {
    private let slots: Mutex<[CopyUpProbe.JobTiming?]>

    init(_ count: Int) { slots = Mutex(Array(repeating: nil, count: count)) }

    func store(_ timing: CopyUpProbe.JobTiming, at index: Int) { slots.withLock { $0[index] = timing } }

    func all() -> [CopyUpProbe.JobTiming] { slots.withLock { $0.map { $0! } } }
}
