import OverlaySystem

/// An output file that could not be written: it exists and may not be replaced, or its
/// directory is missing, or a write, fsync or rename failed.
///
/// `cannot create x.csv: open /nonexistent/dir: No such file or directory (ENOENT)`.
/// OverlayBench never creates the missing parents of an output path (a typo as root would
/// otherwise build a tree anywhere), so a missing directory is this error, not a new directory.
public struct OutputFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Problem: Sendable, Equatable {
        /// The file exists and replacing it was not asked for (`--force`).
        case exists
        case failed(SystemError)
    }

    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    /// The ``SystemError`` behind it, if any.
    public var systemError: SystemError? {
        if case .failed(let error) = problem { return error }
        return nil
    }

    public var description: String {
        switch problem {
        case .exists:
            return "\(path) exists; pass --force to replace it"
        case .failed(let error):
            let call = error.path == nil || error.path == path ? error.operation : "\(error.operation) \(error.path!)"
            return "cannot create \(path): \(call): \(error.errno.description) (\(error.errno.name))"
        }
    }
}
