import ArgumentParser
import Foundation
import OverlayCore
import OverlaySuite
import OverlaySystem

/// The exit codes `overlaybench` documents (sysexits.h where one fits).
enum ExitStatus {
    static let benchmarkFailed: Int32 = 1
    static let usage: Int32 = 64
    static let dataError: Int32 = 65
    static let unavailable: Int32 = 69
    static let software: Int32 = 70
    static let cannotCreate: Int32 = 73
    static let ioError: Int32 = 74

    /// The exit code for an error that ended a command.
    static func code(for error: any Error) -> Int32 {
        switch error {
        case let interrupted as Interrupted: return interrupted.exitCode
        case is ByteCountError, is OverlayOptionError: return usage
        case is RootlessError: return unavailable
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
        case is ResultFileError, is SuiteFileError: return dataError
        case let error as BackingFilesystemError:
            switch error {
            case .unknownKind: return usage
            case .unavailable: return unavailable
            case .commandFailed: return benchmarkFailed
            }
        case let error as SystemError:
            switch error.errno {
            case .noSpace: return cannotCreate
            case .notPermitted, .permissionDenied, .noSuchDevice, .noFunction: return unavailable
            case .ioError: return ioError
            default: return benchmarkFailed
            }
        default: return software
        }
    }

    /// Runs `body`; an error becomes one line on stderr and its documented exit code.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            FileHandle.standardError.write(Data("overlaybench: error: \(error)\n".utf8))
            throw ExitCode(code(for: error))
        }
    }
}
