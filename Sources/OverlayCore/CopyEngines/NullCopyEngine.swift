import OverlaySystem

/// Copies nothing and makes no syscall, like fio's null engine: it measures the harness itself.
public struct NullCopyEngine: CopyEngine {
    public static let identifier = "null"

    public init() {}

    public var capabilities: CopyEngineCapabilities { [.holes] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        CopyResult(bytesCopied: 0, method: Self.identifier, syscalls: 0)
    }
}
