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
        try DataExtents.copy(from: source, to: destination, length: length, options: options, method: Self.identifier) { extents, tally in
            extents: while tally.sourceEnd == nil, let extent = try extents.next() {
                var offset = extent.lowerBound
                while offset < extent.upperBound {
                    if tally.method != Self.identifier {
                        // Fallen back: the kernel refused this pair of files, so it would again.
                        let rest = try SendfileCopyEngine.transfer(offset..<extent.upperBound, from: source, to: destination, syscalls: &tally.syscalls)
                        tally.copied += rest
                        if offset + rest < extent.upperBound { tally.sourceEnd = offset + rest }
                        continue extents
                    }
                    let wanted = Int(min(extent.upperBound - offset, SendfileCopyEngine.maximumCallLength))
                    let moved: Int
                    do throws(SystemError) {
                        moved = try destination.copyFileRange(from: source, sourceOffset: offset, to: offset, length: wanted)
                        tally.syscalls += 1
                    } catch {
                        guard Self.fallbackErrors.contains(error.errno) else { throw error }
                        tally.syscalls += 1
                        tally.method = SendfileCopyEngine.identifier
                        continue
                    }
                    if moved == 0 {
                        tally.sourceEnd = offset
                        continue extents
                    }
                    offset += Int64(moved)
                    tally.copied += Int64(moved)
                }
            }
        }
    }

    /// The errors after which coreutils' `copy_file_range` caller falls back to a plain copy:
    /// EXDEV (different filesystems), EOPNOTSUPP and ENOSYS (no support), EINVAL (a pair of files
    /// the kernel will not copy between, e.g. some special filesystems).
    static let fallbackErrors: Set<Errno> = [.crossDeviceLink, .notSupported, .noFunction, .invalidArgument]
}
