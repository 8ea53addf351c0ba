import Foundation
import OverlaySystem

/// A versioned result file: `"schema": "overlaybench.result/1"`, the environment, and the
/// measurements.
public struct ResultFile: Codable, Sendable {
    public static let schemaVersion = "overlaybench.result/1"

    public var schema: String
    /// True when the run stopped early (a signal or an error); the measurements are what it gathered.
    public var incomplete: Bool
    /// Why it stopped early.
    public var stopReason: String?
    public var environment: RunEnvironment
    public var measurements: [Measurement]

    public init(environment: RunEnvironment, measurements: [Measurement] = []) {
        self.schema = Self.schemaVersion
        self.incomplete = false
        self.environment = environment
        self.measurements = measurements
    }

    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public func encoded() throws -> Data { try Self.encoder().encode(self) }

    /// Reads and checks a result file. A file that cannot be read is an ``InputFileError``
    /// (with the errno); one that does not decode is a ``ResultFileError`` that says where:
    /// `r.json: measurement 3: missing field "unit"`.
    public static func load(_ path: String) throws -> ResultFile {
        try decode(Data(try InputFile.read(path, kind: "result file")), path: path)
    }

    /// Decodes and checks the bytes of a result file; `path` only names it in errors.
    public static func decode(_ data: Data, path: String) throws(ResultFileError) -> ResultFile {
        // The schema first, so that another program's JSON is named as such rather than as a
        // missing field of ours.
        struct Header: Decodable { var schema: String? }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: data) } catch {
            throw ResultFileError(path: path, reason: Self.describe(error, in: data, atTop: true))
        }
        guard let schema = header.schema else {
            throw ResultFileError(path: path, reason: "no \"schema\" field: not an OverlayBench result file (\(schemaVersion))")
        }
        guard schema == schemaVersion else {
            throw ResultFileError(path: path, reason: "schema \"\(schema)\" is not \(schemaVersion)")
        }
        do { return try JSONDecoder().decode(ResultFile.self, from: data) } catch {
            throw ResultFileError(path: path, reason: Self.describe(error, in: data, atTop: false))
        }
    }

    private static func describe(_ error: any Error, in data: Data, atTop: Bool) -> String {
        guard let error = error as? DecodingError else { return "does not decode" }
        // A top-level list or string where a result's object belongs.
        if atTop, case .typeMismatch(_, let context) = error, context.codingPath.isEmpty {
            let found = DecodingErrorMessage.foundValue(in: context.debugDescription) ?? "something else"
            return "not an OverlayBench result file: the JSON is \(found), not an object"
        }
        return DecodingErrorMessage.describe(error, in: data)
    }

    /// Writes atomically: a temporary file in the same directory, fsynced, then renamed over
    /// `path`. Refuses to replace an existing file unless `overwrite`; never creates the directory.
    public func write(to path: String, overwrite: Bool = true) throws {
        try AtomicFile.write(try encoded() + Data("\n".utf8), to: path, overwrite: overwrite)
    }
}

/// A result file that does not decode: the file, and where in it and what is wrong
/// (`r.json: measurement 3: summary: field "p50" must be a number, not a string`).
public struct ResultFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var path: String
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
