import Foundation
import OverlayCore

/// Values in the words a person reads: `812 ns`, `20.4 µs`, `3.12 ms`, `1.53 s`; `4 KiB`,
/// `7.2 GiB`; `5.17 GB/s`; `1 inode`, `12 inodes`. Tables, reports and comparisons all format
/// through here, so a unit is spelled one way everywhere.
public enum HumanUnits {
    /// `value` in `unit` (a result file's unit string).
    public static func format(_ value: Double, unit: String) -> String {
        switch unit {
        case "ns": return duration(nanoseconds: value)
        case "ns/layer": return duration(nanoseconds: value) + "/layer"
        case "bytes": return bytes(value)
        case "GB/s": return String(format: value >= 100 ? "%.0f GB/s" : (value >= 10 ? "%.1f GB/s" : "%.2f GB/s"), value)
        case "ratio": return String(format: value >= 10 ? "%.1f×" : "%.2f×", value)
        case "inodes": return count(value, "inode")
        case "operations": return count(value, "operation")
        case "files": return count(value, "file")
        case "files/s": return String(format: value >= 100 ? "%.0f files/s" : "%.1f files/s", value)
        default: return String(format: "%.3g %@", value, unit)
        }
    }

    /// `812 ns`, `20.4 µs`, `3.12 ms`, `1.53 s`.
    public static func duration(nanoseconds value: Double) -> String {
        switch abs(value) {
        case ..<10: String(format: "%.1f ns", value)
        case ..<1_000: String(format: "%.0f ns", value)
        case ..<1_000_000: String(format: "%.1f µs", value / 1_000)
        case ..<1_000_000_000: String(format: "%.2f ms", value / 1_000_000)
        default: String(format: "%.2f s", value / 1_000_000_000)
        }
    }

    /// Binary units, as sizes are given on the command line: `0 B`, `4 KiB`, `1.5 MiB`, `7.2 GiB`.
    public static func bytes(_ value: Double) -> String {
        let magnitude = abs(value)
        for (suffix, factor) in [("TiB", 1099511627776.0), ("GiB", 1073741824.0), ("MiB", 1048576.0), ("KiB", 1024.0)]
        where magnitude >= factor {
            let scaled = value / factor
            return scaled == scaled.rounded() ? String(format: "%.0f %@", scaled, suffix) : String(format: "%.1f %@", scaled, suffix)
        }
        return String(format: "%.0f B", value)
    }

    /// `1 inode`, `12 inodes`, `2.5 inodes` (a median of two counts).
    public static func count(_ value: Double, _ noun: String) -> String {
        if value == value.rounded() { return "\(Int64(value)) \(noun)\(abs(value) == 1 ? "" : "s")" }
        return String(format: "%.1f %@s", value, noun)
    }
}
