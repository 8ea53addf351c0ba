// swift-tools-version: 6.1
//
// OverlayBench's micro-benchmarks, a nested package so the main package does not depend on
// ordo-one/benchmark. Run from this directory:
//
//   swift package --scratch-path ../.build-bench benchmark
//
// The `MallocInterposer` trait is what gives the malloc metrics on Swift 6.3; without it the
// package does not resolve here.
import PackageDescription

let package = Package(
    name: "OverlayBenchBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "OverlayBench", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The engines behind an API of plain Swift types. Benchmark pulls in swift-system, whose
        // C module includes the kernel's <linux/io_uring.h>, and OverlayCore pulls in liburing's
        // own copy of that header: clang refuses the two `struct io_uring_sqe`s in one
        // compilation. This target imports OverlayCore implementation-only, so the benchmark
        // target never loads both.
        .target(
            name: "CopyEngineFixture",
            dependencies: [
                // Named: a path dependency's identity is its folder's name, which differs between clones.
                .product(name: "OverlayCore", package: "OverlayBench"),
            ],
            path: "Sources/CopyEngineFixture"
        ),
        .executableTarget(
            name: "CopyEngines",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                "CopyEngineFixture",
            ],
            path: "Benchmarks/CopyEngines",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
