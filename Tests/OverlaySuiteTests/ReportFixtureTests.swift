import Foundation
import OverlayStatistics
import OverlaySuite
import Testing

/// Result files built in memory from constructed distributions, for the report, comparison and
/// export tests.
enum ResultFixtures {
    /// An environment as a copy-up run on `kernel` with `options` records it; the layer paths
    /// differ per call, as they do between real runs.
    static func environment(kernel: String = "6.8.0-test", options: String = "", fsType: String = "ext4",
                            host: String = "testhost") -> RunEnvironment {
        let run = UInt64.random(in: 0...UInt64.max)
        let effective = "rw,lowerdir=/w/run-\(run)/l,upperdir=/w/run-\(run)/u,workdir=/w/run-\(run)/w,uuid=on"
            + (options == "volatile" ? ",fsync=volatile" : (options.isEmpty ? "" : "," + options))
        let json: [String: Any] = [
            "kernel": kernel, "kernelBuild": "#1 SMP", "architecture": "x86_64", "hostname": host,
            "cpuModel": "Test CPU", "cpuCount": 2, "memoryBytes": 1 << 30, "overlayParameters": ["metacopy": "N"],
            "mounts": [["backend": "kernel", "probe": "copyup", "requestedOptions": options,
                        "effectiveOptions": effective, "method": "mount(2)", "layers": 1]],
            "backingFilesystems": [["name": "root", "type": fsType, "source": "/dev/vda", "mountPoint": "/",
                                    "mountOptions": "rw,relatime", "superOptions": "rw"]],
            "workRoot": "/w", "overlayBenchVersion": "0.1.0", "gitRevision": "abc", "startTime": "2025-01-01T00:00:00Z",
            "commandLine": ["overlaybench", "run", "copyup"],
        ]
        let data = try! JSONSerialization.data(withJSONObject: json)
        return try! JSONDecoder().decode(RunEnvironment.self, from: data)
    }

    /// `count` samples around `median` with relative uniform noise ±`noise`, from `seed`.
    static func samples(median: Double, noise: Double, count: Int = 20, seed: UInt64) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        return (0..<count).map { _ in median * (1 + noise * Double.random(in: -1...1, using: &generator)) }
    }

    static let sizes: [Int64] = [4096, 1 << 20, 16 << 20]

    /// Copy-up firstWrite and secondWrite at three sizes; `scale` multiplies every latency.
    static func copyUpRun(scale: Double = 1, noise: Double = 0.02, seed: UInt64, options: String = "",
                          kernel: String = "6.8.0-test", fsType: String = "ext4", sizes: [Int64] = sizes) -> ResultFile {
        var measurements: [OverlaySuite.Measurement] = []
        for (index, size) in sizes.enumerated() {
            let parameters: [String: ParameterValue] = [
                "size": .int(size), "cache": "warm", "mountOptions": .string(options), "fs": "root", "layers": 1,
            ]
            let first = (500 + 3000 * Double(size) / Double(1 << 20)) * 1_000 * scale
            measurements.append(OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "firstWrite", unit: "ns", parameters: parameters,
                                            samples: samples(median: first, noise: noise, seed: seed &+ UInt64(index))))
            measurements.append(OverlaySuite.Measurement(probe: "copyup", backend: "kernel", metric: "secondWrite", unit: "ns", parameters: parameters,
                                            samples: samples(median: 9_000 * scale, noise: noise, seed: seed &+ 100 &+ UInt64(index))))
        }
        return ResultFile(environment: environment(kernel: kernel, options: options, fsType: fsType), measurements: measurements)
    }
}

@Suite("Report fixtures")
struct ReportFixtureTests {
    @Test("A fixture survives the result file's JSON round trip")
    func roundTrip() throws {
        let file = ResultFixtures.copyUpRun(seed: 7)
        let decoded = try JSONDecoder().decode(ResultFile.self, from: try file.encoded())
        #expect(decoded.measurements.count == 6)
        #expect(decoded.environment.mounts.first?.requestedOptions == "")
        #expect(decoded.measurements.map(\.identity) == file.measurements.map(\.identity))
    }
}
