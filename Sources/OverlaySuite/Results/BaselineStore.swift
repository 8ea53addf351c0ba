import Foundation
import OverlaySystem

/// Named baselines, as a nightly job keeps them: `<directory>/<name>.json`, each a result file
/// saved by `overlaybench baseline save NAME RESULT` and compared against with
/// `compare --baseline NAME`.
public struct BaselineStore: Sendable {
    public static let defaultDirectory = "results/baselines"

    public var directory: String

    public init(directory: String = Self.defaultDirectory) { self.directory = directory }

    /// A name is a file name: letters, digits, `.`, `_` and `-`, not starting with `.`.
    public static func validate(name: String) throws(BaselineError) {
        let allowed = name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") }
        guard !name.isEmpty, allowed, !name.hasPrefix(".") else { throw .badName(name) }
    }

    public func path(of name: String) -> String { directory + "/" + name + ".json" }

    /// Saves `result` (checked by loading it) as `name`; replaces an existing one only with `replacing`.
    /// The store's directory is made if missing, one level only: its parent must exist.
    @discardableResult
    public func save(_ name: String, from resultPath: String, replacing: Bool) throws -> String {
        try Self.validate(name: name)
        let result = try ResultFile.load(resultPath)
        if !result.measurements.contains(where: \.hasSamples) { throw BaselineError.empty(resultPath) }
        if result.incomplete { throw BaselineError.incomplete(resultPath) }
        let target = path(of: name)
        if !replacing && FileSystem.exists(target) { throw BaselineError.exists(name, target) }
        do { try FileSystem.makeDirectory(directory) } catch { throw OutputFileError(path: directory, problem: .failed(error)) }
        try AtomicFile.write(try result.encoded(), to: target, overwrite: true)
        return target
    }

    public func load(_ name: String) throws -> ResultFile {
        try Self.validate(name: name)
        let target = path(of: name)
        guard FileSystem.exists(target) else { throw BaselineError.missing(name, directory, list()) }
        return try ResultFile.load(target)
    }

    /// The saved names, sorted.
    public func list() -> [String] {
        ((try? FileSystem.entries(directory)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(5)) }.sorted()
    }
}

public enum BaselineError: Error, CustomStringConvertible, Sendable {
    case badName(String)
    case exists(String, String)
    case missing(String, String, [String])
    case empty(String)
    case incomplete(String)

    public var description: String {
        switch self {
        case .badName(let name): "baseline name \"\(name)\" must be letters, digits, '.', '_' or '-' (and not start with '.')"
        case .exists(let name, let path): "baseline \(name) exists (\(path)); --force replaces it"
        case .missing(let name, let directory, let known):
            "no baseline \(name) in \(directory) (saved: \(known.isEmpty ? "none" : known.joined(separator: ", "))); `overlaybench baseline save \(name) RESULT` records one"
        case .empty(let path): "\(path) has no measurements, so it cannot be a baseline"
        case .incomplete(let path): "\(path) is an incomplete run, so it cannot be a baseline"
        }
    }
}
