/// The Mann–Whitney U test (Wilcoxon rank-sum test): do two independent samples come from the
/// same distribution, against the alternative that one tends to be larger?
///
/// It assumes no distribution shape, which suits latencies, and is computed exactly as
/// `scipy.stats.mannwhitneyu(x, y, alternative='two-sided', method='asymptotic', use_continuity=True)`.
public enum MannWhitney {
    /// The U statistic of `x` and the two-sided p-value.
    ///
    /// U counts the pairs (xᵢ, yⱼ) with xᵢ > yⱼ, ties counting one half. The p-value comes from the
    /// normal approximation with the tie-corrected variance and a continuity correction of ½.
    public static func test(_ x: [Double], _ y: [Double]) -> (u: Double, pValue: Double) {
        precondition(!x.isEmpty && !y.isEmpty, "the Mann–Whitney test needs samples on both sides")
        precondition(!x.contains(where: \.isNaN) && !y.contains(where: \.isNaN), "samples must not be NaN")
        let n1 = Double(x.count)
        let n2 = Double(y.count)
        let n = n1 + n2

        // Average ranks over the pooled samples; `tieTerm` accumulates Σ(t³ − t) over tie groups.
        let pooled = (x.map { ($0, true) } + y.map { ($0, false) }).sorted { $0.0 < $1.0 }
        var rankSumOfX = 0.0
        var tieTerm = 0.0
        var start = 0
        while start < pooled.count {
            var end = start
            while end + 1 < pooled.count && pooled[end + 1].0 == pooled[start].0 { end += 1 }
            let averageRank = Double(start + end) / 2 + 1
            let groupSize = Double(end - start + 1)
            tieTerm += groupSize * groupSize * groupSize - groupSize
            for index in start...end where pooled[index].1 { rankSumOfX += averageRank }
            start = end + 1
        }

        let u1 = rankSumOfX - n1 * (n1 + 1) / 2
        let u2 = n1 * n2 - u1
        let u = max(u1, u2)
        let mean = n1 * n2 / 2
        let variance = n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))
        // All values tied: U sits exactly at its mean with no spread, and scipy's z of −∞
        // gives p = 1 after clipping; say so directly rather than divide by zero.
        guard variance > 0 else { return (u1, 1) }
        // Subtracting ½ from the larger U always moves it toward the mean, as scipy does.
        let z = (u - mean - 0.5) / variance.squareRoot()
        let pValue = min(max(2 * Normal.survival(z), 0), 1)
        return (u1, pValue)
    }
}
