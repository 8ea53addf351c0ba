import OverlaySystem

/// Copies with `copy_file_range(2)`: a reflink where the filesystem can, else the kernel's own
/// `do_splice_direct` loop. Where the kernel refuses the pair of files (different filesystems
/// since Linux 5.19, or no support), it falls back to ``SendfileCopyEngine``'s loop for the rest,
/// as coreutils' cp falls back, and says so in ``CopyResult/method``.
public struct CopyFileRangeCopyEngine: CopyEngine {
    public static let identifier = "copy_file_range"

    public init() {}

    public var capabilities: CopyEngineCapabilities { [.holes] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        var extents = try DataExtents(of: source, length: length, options: options)
        try extents.sizeDestination(destination)
        var syscalls = 0
        var copied: Int64 = 0
        var sourceEnd: Int64?
        var method = Self.identifier
        extents: while sourceEnd == nil, let extent = try extents.next() {
            var offset = extent.lowerBound
            while offset < extent.upperBound {
                if method != Self.identifier {
                    // Fallen back: the kernel refused this pair of files, so it would again.
                    let rest = try SendfileCopyEngine.transfer(offset..<extent.upperBound, from: source, to: destination, syscalls: &syscalls)
                    copied += rest
                    if offset + rest < extent.upperBound { sourceEnd = offset + rest }
                    continue extents
                }
                let wanted = Int(min(extent.upperBound - offset, SendfileCopyEngine.maximumCallLength))
                let moved: Int
                do {
                    moved = try destination.copyFileRange(from: source, sourceOffset: offset, to: offset, length: wanted)
                    syscalls += 1
                } catch {
                    guard Self.fallbackErrors.contains(error.errno) else { throw error }
                    syscalls += 1
                    method = SendfileCopyEngine.identifier
                    continue
                }
                if moved == 0 {
                    sourceEnd = offset
                    continue extents
                }
                offset += Int64(moved)
                copied += Int64(moved)
            }
        }
        try extents.trimDestination(destination, sourceEnd: sourceEnd)
        if options.fsync {
            try destination.fsync()
            syscalls += 1
        }
        return CopyResult(bytesCopied: copied, method: method, syscalls: syscalls + extents.syscalls)
    }

    /// The errors after which coreutils' `copy_file_range` caller falls back to a plain copy:
    /// EXDEV (different filesystems), EOPNOTSUPP and ENOSYS (no support), EINVAL (a pair of files
    /// the kernel will not copy between, e.g. some special filesystems).
    static let fallbackErrors: Set<Errno> = [.crossDeviceLink, .notSupported, .noFunction, .invalidArgument]
}
