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
        // One copy engine and its warm source file, set up outside the timed region. It imports
        // OverlayCore plainly: OverlaySystem imports liburing internally, so its header never
        // meets swift-system's <linux/io_uring.h> (which Benchmark pulls in) in one compilation.
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
