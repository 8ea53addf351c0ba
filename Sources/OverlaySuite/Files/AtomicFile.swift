import Foundation
import OverlaySystem

/// Writes whole output files atomically (a temporary file beside it, fsync, rename, fsync of the
/// directory; ``FileSystem/writeAtomically(_:to:replacing:mode:)``), so a reader never sees half
/// a result and a crash never destroys the previous one.
///
/// The directory must exist: a missing one is `ENOENT`, never created. Every failure is an
/// ``OutputFileError`` naming the output path, the call and the errno.
public enum AtomicFile {
    /// Writes `bytes` to `path`; an existing file is replaced only when `overwrite`.
    public static func write(_ bytes: [UInt8], to path: String, overwrite: Bool) throws(OutputFileError) {
        do {
            try FileSystem.writeAtomically(bytes, to: path, replacing: overwrite)
        } catch {
            if error.errno == .fileExists && !overwrite { throw OutputFileError(path: path, problem: .exists) }
            throw OutputFileError(path: path, problem: .failed(error))
        }
    }

    public static func write(_ data: Data, to path: String, overwrite: Bool) throws(OutputFileError) {
        try write([UInt8](data), to: path, overwrite: overwrite)
    }

    public static func write(_ text: String, to path: String, overwrite: Bool) throws(OutputFileError) {
        try write(Array(text.utf8), to: path, overwrite: overwrite)
    }

    /// Checks, before a long run, that `path` can be written later: its directory exists and is
    /// a directory, and the file itself does not exist unless `overwrite`.
    public static func checkWritable(_ path: String, overwrite: Bool) throws(OutputFileError) {
        let directory = directory(of: path)
        guard let status = FileSystem.status(directory, followSymlinks: true) else {
            throw OutputFileError(path: path, problem: .failed(SystemError("open", path: directory, errno: .noSuchFileOrDirectory)))
        }
        guard status.type == .directory else {
            throw OutputFileError(path: path, problem: .failed(SystemError("open", path: directory, errno: .notDirectory)))
        }
        if let existing = FileSystem.status(path, followSymlinks: true) {
            if existing.type == .directory {
                throw OutputFileError(path: path, problem: .failed(SystemError("rename", path: path, errno: .isDirectory)))
            }
            if !overwrite { throw OutputFileError(path: path, problem: .exists) }
        }
    }

    /// Makes one output directory (never its parents); an existing directory is fine.
    public static func makeDirectory(_ path: String) throws(OutputFileError) {
        do { try FileSystem.makeDirectory(path) } catch { throw OutputFileError(path: path, problem: .failed(error)) }
    }

    /// The directory `path` is written into, as ``FileSystem/writeAtomically`` opens it.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }
}
