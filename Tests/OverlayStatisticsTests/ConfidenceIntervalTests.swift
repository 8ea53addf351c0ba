import Foundation
import OverlayStatistics
import Testing

struct ConfidenceIntervalTests {
    @Test func relativeHalfWidth() {
        let interval = ConfidenceInterval(lower: 95, upper: 105, level: 0.95)
        #expect(interval.halfWidth == 5)
        #expect(interval.halfWidthRelative(to: 100) == 0.05)
        #expect(interval.halfWidthRelative(to: -50) == 0.1)
        #expect(interval.halfWidthRelative(to: 0) == .infinity)
        #expect(ConfidenceInterval(lower: 0, upper: 0, level: 0.9).halfWidthRelative(to: 0) == 0)
        #expect(interval.contains(95) && interval.contains(105) && !interval.contains(105.5))
    }

    @Test func encodesAsItsThreeFields() throws {
        let interval = ConfidenceInterval(lower: 1.5, upper: 2.5, level: 0.95)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(interval)) as? [String: Double]
        #expect(object == ["lower": 1.5, "upper": 2.5, "level": 0.95])
    }
}
