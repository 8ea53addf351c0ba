import OverlaySystem

/// An input file that could not be read, or that holds nothing.
///
/// `cannot read result file r.json: open: No such file or directory (ENOENT)`, or
/// `r.json: the file is empty`. What is wrong *inside* a file is the reader's own error
/// (``ResultFileError``, ``SuiteFileError``, ``ReplayTraceError``).
public struct InputFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Problem: Sendable, Equatable {
        /// Opening or reading failed: ENOENT, EACCES, EISDIR, EIO, …
        case unreadable(SystemError)
        /// Zero bytes, or only whitespace (`bytes` of it).
        case empty(bytes: Int)
    }

    public var path: String
    /// `result file`, `suite file`, `trace`.
    public var kind: String
    public var problem: Problem

    public init(path: String, kind: String, problem: Problem) {
        self.path = path
        self.kind = kind
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .unreadable(let error):
            // The call's own path is left out when it is the file's, so the path appears once.
            let call = error.path == nil || error.path == path ? error.operation : "\(error.operation) \(error.path!)"
            return "cannot read \(kind) \(path): \(call): \(error.errno.description) (\(error.errno.name))"
        case .empty(let bytes):
            return bytes == 0 ? "\(path): the \(kind) is empty (0 bytes)" : "\(path): the \(kind) holds only whitespace (\(bytes) bytes)"
        }
    }
}
