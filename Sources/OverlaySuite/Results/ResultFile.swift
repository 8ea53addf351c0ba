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

    /// Reads and checks a result file; a wrong schema is an error that says which one it found.
    public static func load(_ path: String) throws -> ResultFile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ResultFileError.unreadable(path, error.localizedDescription)
        }
        struct Header: Decodable { var schema: String? }
        let header = try? JSONDecoder().decode(Header.self, from: data)
        guard let schema = header?.schema else { throw ResultFileError.malformed(path, "no \"schema\" field: not an OverlayBench result") }
        guard schema == schemaVersion else { throw ResultFileError.malformed(path, "schema \(schema) is not \(schemaVersion)") }
        do { return try JSONDecoder().decode(ResultFile.self, from: data) } catch {
            throw ResultFileError.malformed(path, "\(error)")
        }
    }

    /// Writes atomically: a temporary file in the same directory, fsynced, then renamed over
    /// `path`. Refuses to replace an existing file unless `overwrite`.
    public func write(to path: String, overwrite: Bool = true) throws {
        try AtomicFile.write(try encoded() + Data("\n".utf8), to: path, overwrite: overwrite)
    }
}

public enum ResultFileError: Error, CustomStringConvertible, Sendable {
    case unreadable(String, String)
    case malformed(String, String)
    case exists(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let why): "cannot read \(path): \(why)"
        case .malformed(let path, let why): "\(path) is not a valid result file: \(why)"
        case .exists(let path): "\(path) exists; pass --force to replace it"
        }
    }
}

/// Writes whole files atomically (temporary file, fsync, rename), so a reader never sees half a
/// result and a crash never destroys the previous one.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, overwrite: Bool) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) { throw ResultFileError.exists(path) }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).tmp-\(Host.processID)"
        let fd = try FileDescriptor.open(temporary, [.writeOnly, .create, .truncate], mode: 0o644)
        do {
            try data.withUnsafeBytes { try fd.pwriteAll($0, at: 0) }
            try fd.fsync(path: temporary)
            try fd.closeChecked(path: temporary)
        } catch {
            fd.closeIgnoringErrors()
            try? FileDescriptor.currentWorkingDirectory.unlink(temporary)
            throw error
        }
        do {
            try FileDescriptor.currentWorkingDirectory.rename(temporary, to: path, in: .currentWorkingDirectory, noReplace: !overwrite)
        } catch {
            try? FileDescriptor.currentWorkingDirectory.unlink(temporary)
            if error.errno == .fileExists { throw ResultFileError.exists(path) }
            throw error
        }
    }
}
