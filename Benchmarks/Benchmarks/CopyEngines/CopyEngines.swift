import Benchmark
import CopyEngineFixture

// Every copy engine at 4 KiB, 1 MiB and 64 MiB, on the root filesystem's warm page cache.
// Setup writes the source under /var/tmp and makes the engine (ring, buffers, pipes); each
// iteration times only the copy, not opening or removing the destination.
//
// Thresholds sit on deterministic counts only: the engine's own syscall count (each
// io_uring_enter is one) and malloc calls. Wall clock is reported, never gated: on a shared
// 2-vCPU VM it swings by ±30% or more.

/// The syscalls `CopyResult.syscalls` reports, one sample per copy.
let copySyscalls = BenchmarkMetric.custom("copy syscalls", polarity: .prefersSmaller, useScalingFactor: false)

let benchmarks: @Sendable () -> Void = {
    let sizes: [(label: String, bytes: Int64)] = [("4 KiB", 4 << 10), ("1 MiB", 1 << 20), ("64 MiB", 64 << 20)]
    let canClone = CopyEngineFixture.reflinkWorksUnderVarTmp
    let ioURingWorks = CopyEngineFixture.ioURingWorks

    for identifier in CopyEngineFixture.engineIdentifiers {
        for size in sizes {
            let fixture = CopyEngineFixture(identifier: identifier, size: size.bytes)
            let skip = (identifier == "clone" && !canClone) || (identifier.hasPrefix("io_uring") && !ioURingWorks)
            Benchmark(
                "\(identifier) \(size.label)",
                configuration: .init(
                    metrics: [.wallClock, .throughput, .mallocCountTotal, .syscalls, copySyscalls],
                    warmupIterations: 2,
                    maxDuration: .seconds(3),
                    maxIterations: size.bytes >= 64 << 20 ? 30 : 1000,
                    skip: skip,
                    thresholds: [
                        // The same file layout and engine make the same calls every time.
                        copySyscalls: .init(absolute: [.p50: 0, .p90: 0]),
                        // Engines allocate their buffers up front; a copy allocates a handful at most.
                        .mallocCountTotal: .init(absolute: [.p50: 2, .p90: 4]),
                    ]
                ),
                closure: { benchmark in
                    let syscalls = try fixture.copyOnce { copy in
                        benchmark.startMeasurement()
                        defer { benchmark.stopMeasurement() }
                        try copy()
                    }
                    benchmark.measurement(copySyscalls, syscalls)
                },
                setup: { try fixture.setUp() },
                teardown: { fixture.tearDown() }
            )
        }
    }
}
