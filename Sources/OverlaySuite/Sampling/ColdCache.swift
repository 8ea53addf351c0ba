import OverlaySystem

/// What `--cache cold` does before each sample.
enum ColdCache {
    /// Recorded as `parameters.coldMethod` with every cold sample.
    static let method = "sync+drop_caches=3 x2"

    static var isAvailable: Bool { PageCache.canDrop }

    static func prepare() throws {
        try PageCache.drop(passes: 2)
    }
}
