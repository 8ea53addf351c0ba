import Foundation
import OverlayStatistics
import Testing

/// Reference answers that `tools/make-stat-fixtures.py` wrote from scipy and numpy.
enum Fixture {
    /// The `cases` of `Fixtures/<name>.json`.
    static func cases<Case: Decodable>(_ name: String, as _: Case.Type = Case.self) throws -> [Case] {
        try load(name, as: Document<[Case]>.self).cases
    }

    /// `Fixtures/<name>.json` decoded whole.
    static func load<Value: Decodable>(_ name: String, as _: Value.Type = Value.self) throws -> Value {
        let url = try #require(
            Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
            "missing fixture \(name).json: run tools/make-stat-fixtures.py")
        return try JSONDecoder().decode(Value.self, from: Data(contentsOf: url))
    }

    /// The envelope every fixture file shares.
    struct Document<Cases: Decodable>: Decodable {
        var scipy: String
        var cases: Cases
    }
}

/// Whether `actual` is within `relative` of `expected`, or within `absolute` for values near 0.
func isClose(_ actual: Double, _ expected: Double, relative: Double, absolute: Double = 0) -> Bool {
    if actual == expected { return true }
    return abs(actual - expected) <= max(relative * abs(expected), absolute)
}

/// Normal variates by the Box–Muller transform, for tests that need a known distribution.
func normalSamples(count: Int, mean: Double, standardDeviation: Double, seed: UInt64) -> [Double] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &generator)
        let u2 = Double.random(in: 0..<1, using: &generator)
        return mean + standardDeviation * (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
