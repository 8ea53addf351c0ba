import OverlaySystem

/// Copies through io_uring with reads and writes in flight together, like liburing's
/// `examples/io_uring-cp.c`: each chunk is a read into a buffer slot linked (`IOSQE_IO_LINK`) to
/// the write of that slot, ``IOURingCopyOptions/queueDepth`` chunks at a time.
///
/// The copy runs in waves: one `io_uring_enter(2)` submits every chunk that can start and waits
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
        var wave = Wave(fsync: options.fsync)
        for slot in requests.indices { requests[slot] = CopySlot() }
        // IOSQE_ASYNC hands each read to an io-wq worker, which pays off only when several chunks
        // can overlap; a copy of one block or less runs faster inline (no thread wake-up).
        asyncReadsThisCopy = self.options.asyncReads && length > Int64(self.options.blockSize)
        // The linked write of a single block goes to io-wq on its own: keep it on this CPU.
        workers.place(ring, local: extents.end <= Int64(self.options.blockSize))

        while true {
            // Start: a free slot takes the next chunk; a busy one queues its next step.
            var queued = 0
            for slot in requests.indices where wave.failure == nil {
                if requests[slot].isDone { requests[slot] = CopySlot() }
                if requests[slot].chunk == nil, wave.startsChunks {
                    do {
                        if let chunk = try extents.nextChunk(maximumLength: self.options.blockSize) {
                            requests[slot] = CopySlot(chunk: chunk)
                        } else {
                            wave.chunksLeft = false
                        }
                    } catch {
                        wave.failure = error
                    }
                }
                if requests[slot].chunk != nil, wave.failure == nil {
                    queued += try queueNextStep(slot: slot, source: source, destination: destination)
                }
            }
            // Sync: once every chunk has started, behind all of them.
            if wave.needsFsync {
                try ring.queueFsync(destination, userData: Tag.fsync.rawValue, flags: .drain)
                queued += 1
            }
            if queued == 0 { break }

            // Submit and wait for the whole wave: one io_uring_enter.
            try ring.submit(waitingFor: queued)
            wave.enters += 1

            // Reap: every request of the wave has completed, so no buffer is in use after this.
            var fsynced = false
            ring.reap { completion in
                let tag = Tag(userData: completion.userData)
                switch tag.operation {
                case .read: complete(read: completion.result, slot: tag.slot, wave: &wave)
                case .write: complete(write: completion.result, slot: tag.slot, wave: &wave)
                case .fsync:
                    switch completion.result {
                    case .success: fsynced = true
                    case .failure(let errno) where Self.isRetryable(errno): break
                    case .failure(let errno): wave.fail(SystemError("io_uring fsync", errno: errno))
                    }
                }
            }
            // A chunk requeued after the fsync needs another one.
            wave.synced = wave.synced || (fsynced && requests.allSatisfy { $0.chunk == nil || $0.isDone })
        }
        if let failure = wave.failure { throw failure }
        try extents.trimDestination(destination, sourceEnd: wave.sourceEnd)
        let method = buffers.isRegistered(with: ring) ? "\(Self.identifier)-fixed" : Self.identifier
        return CopyResult(bytesCopied: wave.copied, method: method, syscalls: wave.enters + extents.syscalls)
    }

    // MARK: - Phases

    /// Queues what `slot` needs next: the rest of its read linked to the rest of its write, or,
    /// once the read is complete (or hit the end of file), the rest of the write alone.
    private func queueNextStep(slot: Int, source: FileDescriptor, destination: FileDescriptor) throws(SystemError) -> Int {
        let request = requests[slot]
        guard let chunk = request.chunk else { return 0 }
        let writeRange = request.written..<(request.readComplete ? request.filled : chunk.count)
        if !request.readComplete {
            let readFlags: IOURingSubmissionFlags = asyncReadsThisCopy ? [.link, .async] : [.link]
            try ring.queueRead(
                source, into: buffers, slot: slot, range: request.filled..<chunk.count,
                at: chunk.lowerBound + Int64(request.filled), userData: Tag(slot: slot, operation: .read).rawValue, flags: readFlags)
        }
        try ring.queueWrite(
            destination, from: buffers, slot: slot, range: writeRange,
            at: chunk.lowerBound + Int64(writeRange.lowerBound), userData: Tag(slot: slot, operation: .write).rawValue)
        return request.readComplete ? 1 : 2
    }

    private func complete(read result: Result<Int, Errno>, slot: Int, wave: inout Wave) {
        guard let chunk = requests[slot].chunk else { preconditionFailure("a read completed for free slot \(slot)") }
        switch result {
        case .success(0):
            requests[slot].sourceEnded = true
            wave.sourceEnded(at: chunk.lowerBound + Int64(requests[slot].filled))
        case .success(let count):
            requests[slot].filled += count
        case .failure(let errno) where Self.isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError("io_uring read", errno: errno))
        }
    }

    private func complete(write result: Result<Int, Errno>, slot: Int, wave: inout Wave) {
        switch result {
        case .success(0):
            // Only ever asked for a non-empty range: no progress would loop forever.
            wave.fail(SystemError("io_uring write", errno: .ioError))
        case .success(let count):
            requests[slot].written += count
            wave.copied += Int64(count)
        case .failure(let errno) where Self.isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError("io_uring write", errno: errno))
        }
    }

    /// `-EAGAIN` (io-wq would block), `-EINTR`, and `-ECANCELED` (a broken link) are requeued.
    static func isRetryable(_ errno: Errno) -> Bool {
        errno == .resourceTemporarilyUnavailable || errno == .interrupted || errno == .canceled
    }
}

// MARK: - State

extension IOURingCopyEngine {
    /// `user_data`: the slot in the high bits, the operation in the low two.
    struct Tag {
        enum Operation: UInt64 { case read = 0, write = 1, fsync = 2 }
        var slot: Int
        var operation: Operation

        static let fsync = Tag(slot: 0, operation: .fsync)

        init(slot: Int, operation: Operation) {
            self.slot = slot
            self.operation = operation
        }

        init(userData: UInt64) {
            guard let operation = Operation(rawValue: userData & 3) else { preconditionFailure("unknown user_data \(userData)") }
            self.init(slot: Int(userData >> 2), operation: operation)
        }

        var rawValue: UInt64 { UInt64(slot) << 2 | operation.rawValue }
    }

    /// What one copy has done so far, across waves.
    struct Wave {
        var copied: Int64 = 0
        var enters = 0
        var chunksLeft = true
        /// Where a read found the source's end, if one did.
        var sourceEnd: Int64?
        var failure: (any Error)?
        /// True when no fsync is wanted, or one completed after the last write.
        var synced: Bool

        init(fsync: Bool) { synced = !fsync }

        /// Whether a free slot may take a new chunk: none beyond the source's end.
        var startsChunks: Bool { chunksLeft && sourceEnd == nil && failure == nil }
        /// Whether this wave should end with the fsync.
        var needsFsync: Bool { !synced && !startsChunks && failure == nil }

        mutating func sourceEnded(at offset: Int64) { sourceEnd = min(sourceEnd ?? offset, offset) }
        /// Keeps the first failure; the waves already in flight drain before it is thrown.
        mutating func fail(_ error: SystemError) { if failure == nil { failure = error } }
    }
}
