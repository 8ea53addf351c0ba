/// A small, fast, seedable random number generator: xoshiro256** (Blackman and Vigna, 2018).
///
/// Every resampling in OverlayStatistics draws from one of these, so a result file's confidence
/// intervals can be reproduced exactly from its seed. The 256-bit state is filled from the 64-bit
/// seed with SplitMix64, as the xoshiro authors recommend, so that nearby seeds give unrelated
/// streams and no seed yields the all-zero state.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// A generator whose whole output stream is determined by `seed`.
    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = (nextSplitMix(), nextSplitMix(), nextSplitMix(), nextSplitMix())
    }

    /// The next 64 random bits (xoshiro256**'s `next()`).
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state.1 &* 5, by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = rotateLeft(state.3, by: 45)
        return result
    }

    /// A uniformly distributed index in `0..<count`.
    ///
    /// The standard library's `Int.random(in:using:)` is free to change its algorithm between
    /// toolchains, which would silently change every recorded bootstrap interval; this is Lemire's
    /// multiply-and-reject method ("Fast Random Integer Generation in an Interval", 2019), fixed here.
    public mutating func index(below count: Int) -> Int {
        precondition(count > 0)
        let bound = UInt64(count)
        var product = next().multipliedFullWidth(by: bound)
        if product.low < bound {
            let threshold = (0 &- bound) % bound
            while product.low < threshold {
                product = next().multipliedFullWidth(by: bound)
            }
        }
        return Int(product.high)
    }

    private func rotateLeft(_ value: UInt64, by amount: UInt64) -> UInt64 {
        (value << amount) | (value >> (64 - amount))
    }
}
