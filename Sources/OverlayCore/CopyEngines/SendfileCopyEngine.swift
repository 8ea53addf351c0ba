import OverlaySystem

/// Copies with `sendfile(2)`, as fuse-overlayfs does after FICLONE fails: in the kernel, through
/// the same `do_splice_direct` that copy-up uses, and across filesystems.
public struct SendfileCopyEngine: CopyEngine {
    public static let identifier = "sendfile"

    public init() {}

    public var capabilities: CopyEngineCapabilities { [.holes] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        try DataExtents.copy(from: source, to: destination, length: length, options: options, method: Self.identifier) { extents, tally in
            while tally.sourceEnd == nil, let extent = try extents.next() {
                let moved = try Self.transfer(extent, from: source, to: destination, syscalls: &tally.syscalls)
                tally.copied += moved
                if moved < Int64(extent.count) { tally.sourceEnd = extent.lowerBound + moved }
            }
        }
    }

    /// Copies `range` of `source` to the same offsets of `destination` with `sendfile(2)`, which
    /// writes at the destination's file position, so that is set first. Returns the bytes moved:
    /// fewer than `range.count` only when the source ended.
    static func transfer(
        _ range: Range<Int64>, from source: FileDescriptor, to destination: FileDescriptor, syscalls: inout Int
    ) throws(SystemError) -> Int64 {
        try destination.seek(to: range.lowerBound)
        syscalls += 1
        var offset = range.lowerBound
        while offset < range.upperBound {
            let moved = try destination.sendFile(from: source, sourceOffset: offset, length: Int(min(range.upperBound - offset, maximumCallLength)))
            syscalls += 1
            if moved == 0 { break }
            offset += Int64(moved)
        }
        return offset - range.lowerBound
    }

    /// The kernel moves at most `MAX_RW_COUNT` (2 GiB less a page) per call; ask for 1 GiB.
    static let maximumCallLength: Int64 = 1 << 30
}
