import OverlaySystem

/// Copies with a `pread(2)`/`pwrite(2)` loop through a 1 MiB buffer, as fuse-overlayfs falls back
/// to: every byte is copied twice, into user space and out again. The baseline to beat.
public final class ReadWriteCopyEngine: CopyEngine {
    public static let identifier = "read-write"
    public static let defaultBufferSize = 1 << 20

    /// Allocated once and reused by every copy, so a copy itself allocates nothing.
    private var buffer: [UInt8]

    public init(bufferSize: Int = ReadWriteCopyEngine.defaultBufferSize) {
        precondition(bufferSize > 0, "the buffer must hold at least one byte")
        buffer = [UInt8](repeating: 0, count: bufferSize)
    }

    public var capabilities: CopyEngineCapabilities { [.holes] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        try DataExtents.copy(from: source, to: destination, length: length, options: options, method: Self.identifier) { extents, tally in
            try buffer.withUnsafeMutableBytes { buffer in
                chunks: while let chunk = try extents.nextChunk(maximumLength: buffer.count) {
                    var offset = chunk.lowerBound
                    while offset < chunk.upperBound {
                        let wanted = Int(chunk.upperBound - offset)
                        let read = try source.pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<wanted]), at: offset)
                        tally.syscalls += 1
                        if read == 0 {
                            tally.sourceEnd = offset
                            break chunks
                        }
                        var done = 0
                        while done < read {
                            let written = try destination.pwrite(UnsafeRawBufferPointer(rebasing: buffer[done..<read]), at: offset + Int64(done))
                            tally.syscalls += 1
                            // pwrite(2) of a non-empty buffer makes progress or fails; 0 would loop forever.
                            if written == 0 { throw SystemError("pwrite", errno: .ioError) }
                            done += written
                        }
                        offset += Int64(read)
                        tally.copied += Int64(read)
                    }
                }
            }
        }
    }
}
