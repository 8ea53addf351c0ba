import OverlaySystem

/// A way of copying a file's data: the step of copy-up that the kernel does with a reflink or
/// `do_splice_direct` (fs/overlayfs/copy_up.c), and that OverlayBench compares by mechanism.
///
/// Engines are pluggable like fio's `engines/`: each has a stable short ``identifier`` (what the
/// CLI and the result files use), ``capabilities`` flags, and one ``copy(from:to:length:options:)``.
///
/// An engine may keep state between copies (a ring, pipes, buffers) and is not thread-safe:
/// use one engine from one thread at a time, and one engine per thread for parallel copies.
public protocol CopyEngine {
    /// The stable short name, e.g. `io_uring` or `copy_file_range`.
    static var identifier: String { get }

    /// What this engine can do here.
    var capabilities: CopyEngineCapabilities { get }

    /// Copies bytes `0..<length` of `source` to the same offsets of `destination`.
    ///
    /// Stops early, without error, at the source's end of file; ``CopyResult/bytesCopied`` then
    /// says how much was copied. With ``CopyOptions/skipHoles`` only the source's data extents
    /// (`SEEK_DATA`/`SEEK_HOLE`) are copied and the destination is `ftruncate`d to the copied
    /// length, so holes, trailing ones included, stay holes. With ``CopyOptions/fsync`` the
    /// destination is fsynced before returning, as copy-up does unless the mount is `volatile`.
    ///
    /// Throws ``SystemError`` for an environment failure and ``CopyEngineError/unsupported(reason:)``
    /// when the mechanism cannot work on these files (no reflink on this filesystem, say).
    func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult
}

extension CopyEngine {
    /// The instance's view of ``CopyEngine/identifier``.
    public var identifier: String { Self.identifier }
}

/// The options every engine takes.
public struct CopyOptions: Sendable, Hashable {
    /// Copy only the source's data extents and keep its holes, as copy-up does since the kernel
    /// seeks with `SEEK_DATA` before each chunk.
    public var skipHoles: Bool
    /// `fsync(2)` the destination before returning (copy-up does, unless `volatile`).
    public var fsync: Bool
    /// The source's status when the caller has it already (copy-up's lookup does): it saves a
    /// `statx(2)`, and a source with no room for holes (allocated bytes ≥ size) is copied as one
    /// extent without the `SEEK_DATA`/`SEEK_HOLE` walk. Only for a source that does not change.
    public var sourceStatus: FileStatus?

    public init(skipHoles: Bool = false, fsync: Bool = false, sourceStatus: FileStatus? = nil) {
        self.skipHoles = skipHoles
        self.fsync = fsync
        self.sourceStatus = sourceStatus
    }
}

/// What one copy did.
public struct CopyResult: Sendable, Hashable {
    /// The data bytes the destination received: holes that were skipped are not counted, and a
    /// source shorter than the requested length yields fewer bytes.
    public var bytesCopied: Int64
    /// The mechanism that actually ran; it differs from the engine's identifier when an engine
    /// falls back, e.g. `copy_file_range` to `sendfile` across filesystems.
    public var method: String
    /// The syscalls made, counting each `io_uring_enter(2)` as one. For a given file layout and
    /// engine configuration this is deterministic, so benchmarks can put thresholds on it; the
    /// `io_uring_register(2)` that places a ring's workers is left out, since it depends on the
    /// CPU the thread ran on and the copy before, not on this copy.
    public var syscalls: Int

    public init(bytesCopied: Int64, method: String, syscalls: Int) {
        self.bytesCopied = bytesCopied
        self.method = method
        self.syscalls = syscalls
    }
}

/// What an engine can do (fio's engine flags).
public struct CopyEngineCapabilities: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Honours ``CopyOptions/skipHoles``.
    public static let holes = CopyEngineCapabilities(rawValue: 1 << 0)
    /// Shares extents instead of copying them (FICLONE).
    public static let reflink = CopyEngineCapabilities(rawValue: 1 << 1)
    /// Moves data through a pipe (splice).
    public static let needsPipe = CopyEngineCapabilities(rawValue: 1 << 2)
    /// Uses buffers registered with the kernel (`io_uring_register_buffers(3)`).
    public static let fixedBuffers = CopyEngineCapabilities(rawValue: 1 << 3)
    /// Submits through an io_uring.
    public static let ioURing = CopyEngineCapabilities(rawValue: 1 << 4)
}

/// Why an engine could not copy, other than a syscall failing.
public enum CopyEngineError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The mechanism does not work for these files here, e.g. FICLONE on ext4.
    case unsupported(reason: String)
    /// No engine has this identifier.
    case unknownEngine(identifier: String)
    /// The engine's options are out of range.
    case invalidOptions(reason: String)

    public var description: String {
        switch self {
        case .unsupported(let reason): "unsupported: \(reason)"
        case .unknownEngine(let identifier): "unknown copy engine '\(identifier)' (known: \(CopyEngineKind.allIdentifiers.joined(separator: ", ")))"
        case .invalidOptions(let reason): "invalid copy engine options: \(reason)"
        }
    }
}
