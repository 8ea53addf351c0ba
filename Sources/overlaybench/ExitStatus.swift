import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

/// The exit codes `overlaybench` documents (sysexits.h where one fits), and the one place that
/// turns an error into its code and its one line on stderr.
enum ExitStatus {
    static let benchmarkFailed: Int32 = 1
    /// EX_USAGE: a bad option or argument (ArgumentParser's own errors and every `validate()`).
    static let usage: Int32 = 64
    /// EX_DATAERR: an input file that is empty or does not decode.
    static let dataError: Int32 = 65
    /// EX_NOINPUT: an input file that is missing or cannot be read (a directory included).
    static let noInput: Int32 = 66
    static let unavailable: Int32 = 69
    static let software: Int32 = 70
    /// EX_CANTCREAT: an output file or directory that cannot be created, or may not be replaced.
    static let cannotCreate: Int32 = 73
    static let ioError: Int32 = 74

    /// The exit code for an error that ended a command; nil for errors that are not ours
    /// (ArgumentParser's, and any this table does not know).
    static func code(for error: any Error) -> Int32? {
        switch error {
        case let interrupted as Interrupted: return interrupted.exitCode
        case is ByteCountError, is OverlayOptionError, is ValidationError: return usage
        case is RootlessError: return unavailable
        case let error as InputFileError:
            switch error.problem {
            case .unreadable(let system): return system.errno == .ioError ? ioError : noInput
            case .empty: return dataError
            }
        case let error as OutputFileError:
            return error.systemError?.errno == .ioError ? ioError : cannotCreate
        case is ResultFileError, is SuiteFileError, is ReplayTraceError, is DecodingError: return dataError
        case let error as BaselineError:
            switch error {
            case .badName: return usage
            case .exists: return cannotCreate
            case .missing: return noInput
            case .empty, .incomplete: return dataError
            }
        case let error as ProbeError:
            switch error {
            case .invalidArgument: return usage
            case .unsupported: return unavailable
            case .verificationFailed: return benchmarkFailed
            }
        case let error as WorkloadError:
            switch error {
            case .invalid: return usage
            case .insufficientSpace: return cannotCreate
            }
        case let error as WorkRootError:
            switch error {
            case .refused: return usage
            case .cannotCreate: return cannotCreate
            }
        case let error as BackendError:
            switch error {
            case .unavailable: return unavailable
            case .unknown: return usage
            case .mountFailed: return benchmarkFailed
            }
        case let error as BackingFilesystemError:
            switch error {
            case .unknownKind: return usage
            case .unavailable: return unavailable
            case .commandFailed: return benchmarkFailed
            }
        case let error as CopyEngineError:
            switch error {
            case .unknownEngine, .invalidOptions: return usage
            case .unsupported: return unavailable
            }
        case let error as SystemError:
            switch error.errno {
            case .noSpace: return cannotCreate
            case .notPermitted, .permissionDenied, .noSuchDevice, .noFunction: return unavailable
            case .ioError: return ioError
            default: return benchmarkFailed
            }
        default: return nil
        }
    }

    /// The one line an error prints after `overlaybench: error: `.
    static func message(for error: any Error) -> String {
        switch error {
        case let error as DecodingError: return DecodingErrorMessage.describe(error)
        case let error as ValidationError: return error.message
        default: return String(describing: error)
        }
    }

    /// Prints `message` as one line on stderr and exits with `code`.
    static func fail(_ message: String, code: Int32) -> Never {
        // Several lines (a child's output, a multi-line library message) become one.
        let line = message.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        FileHandle.standardError.write(Data("overlaybench: error: \(line)\n".utf8))
        exit(code)
    }
}
