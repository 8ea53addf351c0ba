import OverlaySystem

/// Copies through io_uring with reads and writes in flight together, like liburing's
/// `examples/io_uring-cp.c`: each chunk is a read into a buffer slot linked (`IOSQE_IO_LINK`) to
/// the write of that slot, ``IOURingCopyOptions/queueDepth`` chunks at a time.
///
/// The copy runs in waves (``IOURingWaves``, shared with ``IOURingSpliceCopyEngine``): one `io_uring_enter(2)` submits every chunk that can start and waits
/// for all of them, so ``CopyResult/syscalls`` depends only on the file's layout and the options.
/// A short read breaks its link, so the write completes with `-ECANCELED`; `-EAGAIN` and
/// cancellations are requeued in the next wave, as are the remainders of short reads and writes.
/// A read of 0 bytes is the source's end. The fsync is `IORING_OP_FSYNC` with `IOSQE_IO_DRAIN`
/// in the last wave, so it starts after every write.
///
/// One ring and one set of buffers serve every copy the engine makes. Use it from one thread at
/// a time.
public final class IOURingCopyEngine: CopyEngine {
    public static let identifier = "io_uring"

    public let options: IOURingCopyOptions
    private let ring: IOURing
    private let buffers: IOURingBuffers
    /// The request table: what each buffer slot is copying. A request's `user_data` is its slot
    /// and operation (``Tag``), so a completion finds its chunk here.
    private var requests: [CopySlot]
    /// Whether this copy sets IOSQE_ASYNC on its reads (see `copy`).
    private var asyncReadsThisCopy = false
    private var workers = IOURingWorkerPlacement()

    /// Sets up the ring (2 × queue depth + 1 entries) and the buffers; throws `SystemError` when
    /// io_uring is unavailable and ``CopyEngineError/invalidOptions(reason:)`` for bad options.
    public init(options: IOURingCopyOptions = .init()) throws {
        try options.validate()
        self.options = options
        ring = try IOURing(entries: UInt32(2 * options.queueDepth + 1))
        buffers = IOURingBuffers(count: options.queueDepth, size: options.blockSize)
        if options.fixedBuffers {
            // Without registration the plain READ/WRITE opcodes work the same, only pinning the
            // pages on every request; `method` tells which ran.
            try? buffers.register(with: ring)
        }
        requests = Array(repeating: CopySlot(), count: options.queueDepth)
    }

    public var capabilities: CopyEngineCapabilities {
        buffers.isRegistered(with: ring) ? [.holes, .ioURing, .fixedBuffers] : [.holes, .ioURing]
    }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        var extents = try DataExtents(of: source, length: length, options: options)
        try extents.sizeDestination(destination)
        // IOSQE_ASYNC hands each read to an io-wq worker, which pays off only when several chunks
        // can overlap; a copy of one block or less runs faster inline (no thread wake-up).
        asyncReadsThisCopy = self.options.asyncReads && length > Int64(self.options.blockSize)
        // The linked write of a single block goes to io-wq on its own: keep it on this CPU.
        workers.place(ring, local: extents.end <= Int64(self.options.blockSize))
        let wave = try IOURingWaves.run(
            on: ring, requests: &requests, extents: &extents, chunkSize: self.options.blockSize,
            destination: destination, fsync: options.fsync, names: .init(read: "io_uring read", write: "io_uring write")
        ) { request, slot throws(SystemError) in
            try queueNextStep(request, slot: slot, source: source, destination: destination)
        }
        try extents.trimDestination(destination, sourceEnd: wave.sourceEnd)
        let method = buffers.isRegistered(with: ring) ? "\(Self.identifier)-fixed" : Self.identifier
        return CopyResult(bytesCopied: wave.copied, method: method, syscalls: wave.enters + extents.syscalls)
    }

    // MARK: - Phases

    /// Queues what `slot` needs next: the rest of its read linked to the rest of its write, or,
    /// once the read is complete (or hit the end of file), the rest of the write alone.
    private func queueNextStep(_ request: CopySlot, slot: Int, source: FileDescriptor, destination: FileDescriptor) throws(SystemError) -> Int {
        guard let chunk = request.chunk else { return 0 }
        let writeRange = request.written..<(request.readComplete ? request.filled : chunk.count)
        if !request.readComplete {
            let readFlags: IOURingSubmissionFlags = asyncReadsThisCopy ? [.link, .async] : [.link]
            try ring.queueRead(
                source, into: buffers, slot: slot, range: request.filled..<chunk.count,
                at: chunk.lowerBound + Int64(request.filled), userData: IOURingWaves.Tag(slot: slot, operation: .read).rawValue, flags: readFlags)
        }
        try ring.queueWrite(
            destination, from: buffers, slot: slot, range: writeRange,
            at: chunk.lowerBound + Int64(writeRange.lowerBound), userData: IOURingWaves.Tag(slot: slot, operation: .write).rawValue)
        return request.readComplete ? 1 : 2
    }
}
