/// The registry of copy engines by identifier, as the CLI and result files name them.
public enum CopyEngineKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case ioURing = "io_uring"
    case ioURingSplice = "io_uring-splice"
    case copyFileRange = "copy_file_range"
    case sendfile = "sendfile"
    case readWrite = "read-write"
    case clone = "clone"
    case null = "null"

    /// Every identifier, in the order above.
    public static var allIdentifiers: [String] { allCases.map(\.rawValue) }

    public var identifier: String { rawValue }
    public var description: String { rawValue }

    /// The engine type.
    public var engineType: any CopyEngine.Type {
        switch self {
        case .ioURing: IOURingCopyEngine.self
        case .ioURingSplice: IOURingSpliceCopyEngine.self
        case .copyFileRange: CopyFileRangeCopyEngine.self
        case .sendfile: SendfileCopyEngine.self
        case .readWrite: ReadWriteCopyEngine.self
        case .clone: CloneCopyEngine.self
        case .null: NullCopyEngine.self
        }
    }

    /// Makes a new engine of this kind; `options` apply to the io_uring engines only.
    /// Throws `SystemError` when io_uring cannot be set up here.
    public func make(options: IOURingCopyOptions = .init()) throws -> any CopyEngine {
        switch self {
        case .ioURing: try IOURingCopyEngine(options: options)
        case .ioURingSplice: try IOURingSpliceCopyEngine(options: options)
        case .copyFileRange: CopyFileRangeCopyEngine()
        case .sendfile: SendfileCopyEngine()
        case .readWrite: ReadWriteCopyEngine()
        case .clone: CloneCopyEngine()
        case .null: NullCopyEngine()
        }
    }

    /// Makes the engine named `identifier`; throws ``CopyEngineError/unknownEngine(identifier:)``
    /// for a name not in ``allIdentifiers``.
    public static func make(identifier: String, options: IOURingCopyOptions = .init()) throws -> any CopyEngine {
        guard let kind = CopyEngineKind(rawValue: identifier) else { throw CopyEngineError.unknownEngine(identifier: identifier) }
        return try kind.make(options: options)
    }
}
