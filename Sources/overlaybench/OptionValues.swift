import ArgumentParser
import Foundation
import OverlayCore

/// Range checks for option values, for `validate()`: each failure is a `ValidationError` that
/// names the option, the value given and the range (`--samples must be at least 1 (got -3)`).
///
/// Options with numeric values are declared `parsing: .unconditional`, so that `--samples -3`
/// reaches these checks instead of ArgumentParser reading `-3` as an option.
enum OptionValues {
    /// Sample counts beyond this are a typo rather than a plan: every sample is kept in memory
    /// and written to the result file.
    static let maximumSamples = 1_000_000
    /// Threads released at once by `--jobs`; more than this measures the scheduler, not copy-up.
    static let maximumJobs = 1024
    /// Entries per layer, random reads per sample and files per size.
    static let maximumCount = 1_000_000
    /// io_uring block sizes: the engine wants multiples of 4 KiB, and a queue of them in memory.
    static let blockSizes: ClosedRange<Int64> = 4096...(1 << 30)

    static func check(_ value: Int, _ flag: String, in range: ClosedRange<Int>, why: String? = nil) throws(ValidationError) {
        let reason = why.map { ": \($0)" } ?? ""
        if value < range.lowerBound {
            throw ValidationError("\(flag) must be at least \(range.lowerBound) (got \(value))\(reason)")
        }
        if value > range.upperBound {
            throw ValidationError("\(flag) must be at most \(range.upperBound) (got \(value))\(reason)")
        }
    }

    /// A size with a unit (`4KiB`); a leading `-` is named as negative rather than as not a size.
    static func size(_ text: String, _ flag: String, minimum: Int64 = 0, maximum: Int64 = .max, why: String? = nil) throws(ValidationError) -> Int64 {
        let trimmed = text.drop { $0 == " " }
        if trimmed.hasPrefix("-") { throw ValidationError("\(flag): \(trimmed) is negative (sizes are 0 or more bytes)") }
        let bytes: Int64
        do { bytes = try ByteCount.parse(text) } catch { throw ValidationError("\(flag): \(error)") }
        if bytes < minimum {
            throw ValidationError("\(flag) must be at least \(ByteCount.format(minimum)) (got \(text))" + (why.map { ": \($0)" } ?? ""))
        }
        if bytes > maximum {
            throw ValidationError("\(flag) must be at most \(ByteCount.format(maximum)) (got \(text))" + (why.map { ": \($0)" } ?? ""))
        }
        return bytes
    }

    /// A comma-separated list of sizes; empty when `text` is (an empty item is an error).
    static func sizes(_ text: String, _ flag: String, minimum: Int64 = 0, maximum: Int64 = .max) throws(ValidationError) -> [Int64] {
        if text.isEmpty { return [] }
        var result: [Int64] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            result.append(try size(String(item), flag, minimum: minimum, maximum: maximum))
        }
        return result
    }

    /// A comma-separated list of integers, each in `range`.
    static func integers(_ text: String, _ flag: String, in range: ClosedRange<Int>) throws(ValidationError) -> [Int] {
        var result: [Int] = []
        for item in text.split(separator: ",") {
            let trimmed = item.trimmingCharacters(in: .whitespaces)
            guard let value = Int(trimmed) else { throw ValidationError("\(flag): \"\(trimmed)\" is not an integer") }
            if !range.contains(value) {
                throw ValidationError("\(flag): \(value) is outside \(range.lowerBound)...\(range.upperBound)")
            }
            result.append(value)
        }
        return result
    }
}
