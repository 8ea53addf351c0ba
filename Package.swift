// swift-tools-version: 6.1
//
// OverlayBench: what OverlayFS really costs (copy-up, lookups, reads).
//
// Dependencies flow one way (DEVELOPERS.md):
//   overlaybench (CLI) -> OverlaySuite (probes, results) -> OverlayStatistics
//                      -> OverlayCore (workload, backends, reference overlay, copy engines)
//                      -> OverlaySystem (the only module that touches Glibc and liburing) -> CLiburing
import PackageDescription

let package = Package(
    name: "OverlayBench",
    products: [
        .executable(name: "overlaybench", targets: ["overlaybench"]),
        .library(name: "OverlaySuite", targets: ["OverlaySuite"]),
        .library(name: "OverlayCore", targets: ["OverlayCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // liburing (Debian's liburing-dev) and the helpers Swift cannot call directly, compiled with
        // _GNU_SOURCE so that no libc constant or struct layout is spelled out by hand.
        .target(
            name: "CLiburing",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("uring")]
        ),
        .target(
            name: "OverlaySystem",
            dependencies: [
                "CLiburing",
            ]
        ),
        // zlib and libzstd (Debian's zlib1g-dev, libzstd-dev) for image layers, with helpers for
        // the macros Swift cannot call (inflateInit2).
        .target(
            name: "CCompression",
            linkerSettings: [.linkedLibrary("z"), .linkedLibrary("zstd")]
        ),
        .target(
            name: "OverlayStatistics",
            dependencies: [
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(
            name: "OverlayCore",
            dependencies: [
                "OverlaySystem",
                "CCompression",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "OverlaySuite",
            dependencies: [
                "OverlayCore",
                "OverlaySystem",
                "OverlayStatistics",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "overlaybench",
            dependencies: [
                "OverlaySuite",
                "OverlayCore",
                "OverlaySystem",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "OverlayTestSupport",
            dependencies: ["OverlayCore", "OverlaySystem", "CCompression"],
            path: "Tests/OverlayTestSupport"
        ),
        .testTarget(
            name: "OverlaySystemTests",
            dependencies: ["OverlaySystem", "OverlayTestSupport"]
        ),
        .testTarget(
            name: "OverlayStatisticsTests",
            dependencies: ["OverlayStatistics"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "OverlayCoreTests",
            dependencies: [
                "OverlayCore", "OverlaySystem", "OverlayTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "OverlaySuiteTests",
            dependencies: [
                "OverlaySuite", "OverlayCore", "OverlayStatistics", "OverlaySystem", "OverlayTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "OverlaySuite", "OverlayCore", "OverlaySystem", "OverlayTestSupport", "overlaybench",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
