import OverlaySystem

/// Reads the files a user names as input: result files, suite files and replay traces.
///
/// A file that cannot be read is an ``InputFileError`` carrying the ``SystemError`` (the C
/// call, the path and the errno), so a missing file says `ENOENT` and a directory `EISDIR`; an
/// empty file is an error of its own, because every input OverlayBench reads has content.
public enum InputFile {
    /// The whole file. `kind` names it in errors: `result file`, `suite file`, `trace`.
    public static func read(_ path: String, kind: String) throws(InputFileError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try FileSystem.readFile(path)
        } catch {
            throw InputFileError(path: path, kind: kind, problem: .unreadable(error))
        }
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }) {
            throw InputFileError(path: path, kind: kind, problem: .empty(bytes: bytes.count))
        }
        return bytes
    }

    /// ``read(_:kind:)`` decoded as UTF-8 (invalid sequences become U+FFFD).
    public static func readText(_ path: String, kind: String) throws(InputFileError) -> String {
        String(decoding: try read(path, kind: kind), as: UTF8.self)
    }
}
