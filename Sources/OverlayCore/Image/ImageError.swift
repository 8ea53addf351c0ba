import OverlaySystem

/// Why an image could not be imported or read, with the exit code the CLI documents for it.
///
/// Every message is one line that names what failed: the blob (`layer 3/5 sha256:1a2b…`), the
/// file, or the entry inside a layer.
public struct ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A SOURCE string that names no transport, or a bad option (64).
        case usage
        /// Malformed input: bad JSON, a digest or size mismatch, a truncated blob, an unknown
        /// media type, compression that contradicts it, a bad tar header (65).
        case malformed
        /// An input that is not there: the layout, the archive, a blob, a tag (66).
        case missing
        /// The output cannot be created: DIR exists, no space, a read-only filesystem (73).
        case cannotCreate
        /// An I/O error reading the source or writing the layers (74).
        case io
        /// The environment cannot do it: not root where owners or devices need it (69).
        case unavailable
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The exit code (sysexits.h) the CLI reports for this error.
    public var exitCode: Int32 {
        switch kind {
        case .usage: 64
        case .malformed: 65
        case .missing: 66
        case .unavailable: 69
        case .cannotCreate: 73
        case .io: 74
        }
    }

    /// A system error met while reading `what` or writing into a layer, classified by its errno.
    static func system(_ error: SystemError, _ what: String) -> ImageError {
        let kind: Kind
        switch error.errno {
        case .noSpace, .readOnlyFileSystem, .fileTooLarge: kind = .cannotCreate
        case .ioError: kind = .io
        case .noSuchFileOrDirectory: kind = .missing
        case .notPermitted, .permissionDenied: kind = .unavailable
        default: kind = .malformed
        }
        return ImageError(kind, "\(what): \(error)")
    }

    /// `error` with `context` in front of its message (an ``ImageError`` keeps its kind; a system
    /// error is classified; anything else is kept as it is).
    static func wrapping(_ error: any Error, _ context: String) -> any Error {
        switch error {
        case let image as ImageError: ImageError(image.kind, "\(context): \(image.message)")
        case let system as SystemError: ImageError.system(system, context)
        default: error
        }
    }
}
