import ArgumentParser
import OverlaySuite

/// The sampling protocol's options, shared by every probe (``SamplingPlan``).
extension RunOptions {
    func validateSampling() throws {
        guard let settleNanoseconds = Self.nanoseconds(settle), settleNanoseconds <= 10_000_000_000 else {
            throw ValidationError("--settle must be a duration from 0 to 10s with a unit: ns, us, ms or s (got \(settle))")
        }
        guard (1...100).contains(`repeat`) else { throw ValidationError("--repeat must be in 1...100 (got \(`repeat`))") }
    }

    /// The plan on the filesystem named `fs`.
    func samplingPlan(fs: String) throws -> SamplingPlan {
        var plan = SamplingPlan()
        plan.samples = samples
        plan.warmup = warmup
        plan.caches = try CacheState.parseList(cache)
        plan.seed = seed
        plan.shuffleSeed = noShuffle ? nil : shuffleSeed
        plan.quiesce = quiesce
        plan.releasePages = releasePages
        plan.settleNanoseconds = Self.nanoseconds(settle) ?? 0
        plan.fs = fs
        return plan
    }

    /// `1500ns`, `500us` (or `µs`), `2ms`, `1s`, or `0`; nil if malformed or negative.
    static func nanoseconds(_ text: String) -> UInt64? {
        let units: [(suffix: String, scale: Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        if text == "0" { return 0 }
        guard let unit = units.first(where: { text.hasSuffix($0.suffix) }),
              let value = Double(text.dropLast(unit.suffix.count)), value >= 0, value.isFinite else { return nil }
        return UInt64((value * unit.scale).rounded())
    }
}
