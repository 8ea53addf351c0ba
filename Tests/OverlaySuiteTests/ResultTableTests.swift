import Foundation
import OverlaySuite
import Testing

@Suite("The terminal table")
struct ResultTableTests {
    static func measurement(_ probe: String, _ metric: String, unit: String = "ns", _ parameters: [String: ParameterValue],
                            samples: [Double]) -> OverlaySuite.Measurement {
        OverlaySuite.Measurement(probe: probe, backend: "kernel", metric: metric, unit: unit, parameters: parameters, samples: samples)
    }

    @Test("one table per probe; constant parameters said once above it, varying ones as columns")
    func onePerProbe() {
        let rows = [
            Self.measurement("copyup", "firstWrite", ["size": .int(4096), "cache": "warm", "fs": "root"], samples: [900_000, 1_000_000, 1_100_000]),
            Self.measurement("copyup", "firstWrite", ["size": .int(1 << 20), "cache": "warm", "fs": "root"], samples: [3_000_000, 3_100_000]),
            Self.measurement("lookup", "stat", ["depth": .int(8), "cache": "warm"], samples: [1_200, 1_300]),
        ]
        let text = ResultTable.render(rows)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("copyup: cache=warm, fs=root"), "\(text)")
        #expect(lines.contains("lookup: cache=warm, depth=8"), "\(text)")
        let copyHeader = lines.first { $0.hasPrefix("backend") && $0.contains("size") }
        #expect(copyHeader != nil && !copyHeader!.contains("cache"), "\(text)")
        #expect(text.contains("1.00 ms") && text.contains("1.2 µs") || text.contains("1.3 µs"), "\(text)")
        #expect(!ResultTable.render(rows, wide: true).contains("copyup: cache"))
        #expect(ResultTable.render(rows, wide: true).hasPrefix("probe"))
    }

    @Test("a percentile vector shows its own percentiles, a counter its value with its unit in words")
    func percentilesAndCounters() {
        let levels = "0.0,1.0,5.0,10.0,25.0,50.0,75.0,90.0,95.0,99.0,99.9,100.0"
        let values: [Double] = [800, 900, 1_000, 1_100, 1_300, 1_500, 1_800, 2_400, 3_000, 8_000, 31_000, 90_000]
        let rows = [
            Self.measurement("read", "randomReadPercentiles", ["percentiles": .string(levels), "operations": .int(2560)], samples: values),
            Self.measurement("read", "upperInodes", unit: "inodes", ["scope": "run"], samples: [1]),
            Self.measurement("read", "upperBytes", unit: "bytes", ["scope": "run"], samples: [7.78e9]),
        ]
        let text = ResultTable.render(rows)
        let vector = text.split(separator: "\n").first { $0.contains("randomReadPercentiles") }.map(String.init) ?? ""
        #expect(vector.contains("2560") && vector.contains("1.5 µs") && vector.contains("2.4 µs") && vector.contains("8.0 µs"), "\(vector)")
        #expect(vector.contains("800 ns") && vector.contains("90.0 µs"), "\(vector)")
        #expect(text.contains("1 inode") && !text.contains("1 inodes"), "\(text)")
        #expect(text.contains("7.2 GiB") && !text.contains("e+09"), "\(text)")
    }

    @Test("the committed nightly baseline prints in at most 160 columns")
    func baselineFits() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("results/baseline.json"))
        let result = try JSONDecoder().decode(ResultFile.self, from: data)
        let text = ResultTable.render(result.measurements)
        if ProcessInfo.processInfo.environment["SHOW_TABLE"] != nil { print(text) }
        let widest = text.split(separator: "\n").map(\.count).max() ?? 0
        #expect(widest <= 160, "widest line \(widest): \(text.split(separator: "\n").first { $0.count == widest } ?? "")")
    }
}
