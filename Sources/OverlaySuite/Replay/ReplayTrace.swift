import Foundation

/// A malformed trace line: which file and line, which field, and what is wrong with it
/// (`t.jsonl: line 3: field "op" is missing`).
public struct ReplayTraceError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The trace file, when the trace came from one.
    public var file: String?
    public var line: Int
    public var field: String
    public var reason: String

    public init(file: String? = nil, line: Int, field: String, reason: String) {
        self.file = file
        self.line = line
        self.field = field
        self.reason = reason
    }

    public var description: String {
        let place = file.map { "\($0): line \(line)" } ?? "trace line \(line)"
        // "(line)" is the whole line, not a field of it.
        return field == "(line)" ? "\(place): \(reason)" : "\(place): field \"\(field)\" \(reason)"
    }
}

/// Parses replay traces: JSON Lines, one ``ReplayOperation`` per line; blank lines are skipped.
public enum ReplayTrace {
    /// Reads and parses a trace file: an ``InputFileError`` (with the errno) if it cannot be read
    /// or is empty, a ``ReplayTraceError`` naming the file, line and field if a line is malformed.
    public static func load(_ path: String) throws -> [ReplayOperation] {
        let text = try InputFile.readText(path, kind: "trace")
        do { return try parse(text) } catch {
            var located = error
            located.file = path
            throw located
        }
    }

    public static func parse(_ text: String) throws(ReplayTraceError) -> [ReplayOperation] {
        var operations: [ReplayOperation] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            operations.append(try parseLine(String(trimmed), number: index + 1))
        }
        return operations
    }

    public static func parseLine(_ line: String, number: Int) throws(ReplayTraceError) -> ReplayOperation {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ReplayTraceError(line: number, field: "(line)", reason: "is not a JSON object")
            }
            object = parsed
        } catch let error as ReplayTraceError {
            throw error
        } catch {
            throw ReplayTraceError(line: number, field: "(line)", reason: "is not valid JSON (one JSON object per line)")
        }
        let fields = Fields(object: object, line: number)
        let op = try fields.string("op")
        switch op {
        case "open":
            let flags = try fields.strings("flags")
            if let bad = flags.first(where: { !ReplayOperation.openFlagNames.contains($0) }) {
                throw ReplayTraceError(line: number, field: "flags", reason: "has \"\(bad)\"; allowed: \(ReplayOperation.openFlagNames.sorted().joined(separator: ", "))")
            }
            return .open(path: try fields.string("path"), flags: flags, mode: try fields.mode("mode", default: 0o644))
        case "write":
            let byte = try fields.integer("byte", in: 0...255)
            return .write(path: try fields.string("path"), offset: Int64(try fields.integer("offset", in: 0...(1 << 40))),
                          length: try fields.integer("length", in: 0...(64 << 20)), byte: UInt8(byte))
        case "read":
            return .read(path: try fields.string("path"), offset: Int64(try fields.integer("offset", in: 0...(1 << 40))),
                         length: try fields.integer("length", in: 0...(64 << 20)))
        case "truncate": return .truncate(path: try fields.string("path"), size: Int64(try fields.integer("size", in: 0...(1 << 40))))
        case "unlink": return .unlink(path: try fields.string("path"))
        case "rmdir": return .rmdir(path: try fields.string("path"))
        case "stat": return .stat(path: try fields.string("path"))
        case "readdir": return .readdir(path: try fields.string("path"))
        case "mkdir": return .mkdir(path: try fields.string("path"), mode: try fields.mode("mode", default: nil))
        case "chmod": return .chmod(path: try fields.string("path"), mode: try fields.mode("mode", default: nil))
        case "chown":
            return .chown(path: try fields.string("path"), uid: UInt32(try fields.integer("uid", in: 0...Int(UInt32.max - 1))),
                          gid: UInt32(try fields.integer("gid", in: 0...Int(UInt32.max - 1))))
        case "utimes":
            return .utimes(path: try fields.string("path"), atime: Int64(try fields.integer("atime", in: 0...(1 << 40))),
                           mtime: Int64(try fields.integer("mtime", in: 0...(1 << 40))))
        case "rename": return .rename(from: try fields.string("from"), to: try fields.string("to"))
        case "link": return .link(from: try fields.string("from"), to: try fields.string("to"))
        case "symlink": return .symlink(target: try fields.string("target"), path: try fields.string("path"))
        case "setxattr":
            return .setxattr(path: try fields.string("path"), name: try fields.string("name"), value: try fields.string("value", allowEmpty: true))
        case "removexattr": return .removexattr(path: try fields.string("path"), name: try fields.string("name"))
        default:
            throw ReplayTraceError(line: number, field: "op", reason: "is \"\(op)\", not a known operation")
        }
    }

    /// Typed access to one line's fields, each error naming the field.
    private struct Fields {
        let object: [String: Any]
        let line: Int

        func fail(_ field: String, _ reason: String) -> ReplayTraceError { ReplayTraceError(line: line, field: field, reason: reason) }

        func string(_ field: String, allowEmpty: Bool = false) throws(ReplayTraceError) -> String {
            guard let value = object[field] else { throw fail(field, "is missing") }
            guard let text = value as? String else { throw fail(field, "must be a string") }
            guard allowEmpty || !text.isEmpty else { throw fail(field, "must not be empty") }
            guard !text.utf8.contains(0) else { throw fail(field, "contains a NUL byte") }
            return text
        }

        func strings(_ field: String) throws(ReplayTraceError) -> [String] {
            guard let value = object[field] else { throw fail(field, "is missing") }
            guard let list = value as? [Any], let texts = list as? [String] else { throw fail(field, "must be an array of strings") }
            return texts
        }

        func integer(_ field: String, in range: ClosedRange<Int>) throws(ReplayTraceError) -> Int {
            guard let value = object[field] else { throw fail(field, "is missing") }
            guard let number = value as? NSNumber, String(describing: type(of: value)) != "Bool" else {
                throw fail(field, "must be an integer")
            }
            let double = number.doubleValue
            guard double == double.rounded(), let int = Int(exactly: double) else { throw fail(field, "must be an integer") }
            guard range.contains(int) else { throw fail(field, "is \(int), outside \(range.lowerBound)...\(range.upperBound)") }
            return int
        }

        /// A mode: an octal string ("0755") or a number.
        func mode(_ field: String, default fallback: UInt32?) throws(ReplayTraceError) -> UInt32 {
            guard let value = object[field] else {
                if let fallback { return fallback }
                throw fail(field, "is missing")
            }
            if let text = value as? String {
                guard let mode = UInt32(text, radix: 8), mode <= 0o7777 else { throw fail(field, "\"\(text)\" is not an octal mode up to 07777") }
                return mode
            }
            return UInt32(try integer(field, in: 0...0o7777))
        }
    }
}
