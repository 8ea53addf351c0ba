/// Sizes with binary units, as the CLI accepts and prints them (`4KiB`, `1MiB`, `1GiB`, or bytes).
public enum ByteCount {
    private static let units: [(suffix: String, factor: Int64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("kB", 1_000),
        ("B", 1),
    ]

    /// Parses `4KiB`, `1.5MiB`, `1GiB`, `4096`, `64M`, `10MB`. Throws a message naming the text.
    public static func parse(_ text: String) throws(ByteCountError) -> Int64 {
        let trimmed = text.trimmingSpaces
        guard !trimmed.isEmpty else { throw ByteCountError(text: text, reason: "is empty") }
        var number = Substring(trimmed)
        var factor: Int64 = 1
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            number = trimmed.dropLast(unit.suffix.count)
            factor = unit.factor
            break
        }
        let digits = number.trimmingSpaces
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
            throw ByteCountError(text: text, reason: "is not a size (use bytes or a unit: KiB, MiB, GiB, TiB)")
        }
        if let whole = Int64(digits) {
            let (product, overflow) = whole.multipliedReportingOverflow(by: factor)
            guard !overflow else { throw ByteCountError(text: text, reason: "is too large") }
            return product
        }
        guard let value = Double(digits), value.isFinite else {
            throw ByteCountError(text: text, reason: "is not a size")
        }
        let bytes = value * Double(factor)
        guard bytes < 9.0e18 else { throw ByteCountError(text: text, reason: "is too large") }
        guard bytes == bytes.rounded() else { throw ByteCountError(text: text, reason: "is not a whole number of bytes") }
        return Int64(bytes)
    }

    /// Parses a comma-separated list of sizes.
    public static func parseList(_ text: String) throws(ByteCountError) -> [Int64] {
        var result: [Int64] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            result.append(try parse(String(item)))
        }
        return result
    }

    /// `4KiB`, `1MiB`, `256MiB`, `1.5GiB`, `0B`: exact binary units where they divide evenly.
    public static func format(_ bytes: Int64) -> String {
        for (suffix, factor) in [("TiB", Int64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor {
            if bytes % factor == 0 { return "\(bytes / factor)\(suffix)" }
            let value = Double(bytes) / Double(factor)
            return "\((value * 10).rounded() / 10)\(suffix)"
        }
        return "\(bytes)B"
    }
}

public struct ByteCountError: Error, CustomStringConvertible, Sendable {
    public var text: String
    public var reason: String
    public var description: String { "size \"\(text)\" \(reason)" }
}

extension StringProtocol {
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
