import OverlaySystem

/// Copies with `IORING_OP_SPLICE`, file → pipe → file: the io_uring analogue of the kernel's
/// `do_splice_direct`, which copy-up uses. The splice into a pipe only takes references to the
/// source's page-cache pages, so each byte is copied once, into the destination's page cache.
///
/// Each of ``IOURingCopyOptions/queueDepth`` slots owns a pipe of ``IOURingCopyOptions/blockSize``
/// bytes (`F_SETPIPE_SZ`); a chunk is a splice into the pipe linked to a splice out of it. The
/// kernel runs splices in io-wq, so the chunks' splices into pipes run in parallel while the
/// splices into the one destination file run one after another. Waves, requeueing and the fsync
/// work as in ``IOURingCopyEngine``. Use it from one thread at a time.
public final class IOURingSpliceCopyEngine: CopyEngine {
    public static let identifier = "io_uring-splice"

    public let options: IOURingCopyOptions
    private let ring: IOURing
    /// One pipe per slot: the request table's buffers.
    private var pipes: [(read: FileDescriptor, write: FileDescriptor)] = []
    /// The bytes a pipe is known to hold (the smallest `F_SETPIPE_SZ` granted): the chunk size.
    private var chunkSize: Int
    private var requests: [CopySlot]
    private var workers = IOURingWorkerPlacement()

    /// Sets up the ring and the pipes; throws ``CopyEngineError/unsupported(reason:)`` when the
    /// kernel has no `IORING_OP_SPLICE` (before 5.7).
    public init(options: IOURingCopyOptions = .init()) throws {
        try options.validate()
        self.options = options
        ring = try IOURing(entries: UInt32(2 * options.queueDepth + 1))
        guard ring.supportsSplice else { throw CopyEngineError.unsupported(reason: "this kernel has no IORING_OP_SPLICE (needs Linux 5.7)") }
        chunkSize = options.blockSize
        requests = Array(repeating: CopySlot(), count: options.queueDepth)
        try openPipes()
    }

    deinit { closePipes() }

    public var capabilities: CopyEngineCapabilities { [.holes, .ioURing, .needsPipe] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        var extents = try DataExtents(of: source, length: length, options: options)
        try extents.sizeDestination(destination)
        var wave = IOURingCopyEngine.Wave(fsync: options.fsync)
        for slot in requests.indices { requests[slot] = CopySlot() }
        // Splices always run in io-wq; one chunk has nothing to overlap, so it stays on this CPU.
        workers.place(ring, local: extents.end <= Int64(chunkSize))

        while true {
            // Start: a free slot takes the next chunk; a busy one queues its next step.
            var queued = 0
            for slot in requests.indices where wave.failure == nil {
                if requests[slot].isDone { requests[slot] = CopySlot() }
                if requests[slot].chunk == nil, wave.startsChunks {
                    do {
                        if let chunk = try extents.nextChunk(maximumLength: chunkSize) {
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
                try ring.queueFsync(destination, userData: IOURingCopyEngine.Tag.fsync.rawValue, flags: .drain)
                queued += 1
            }
            if queued == 0 { break }

            // Submit and wait for the whole wave: one io_uring_enter.
            try ring.submit(waitingFor: queued)
            wave.enters += 1

            // Reap.
            var fsynced = false
            ring.reap { completion in
                let tag = IOURingCopyEngine.Tag(userData: completion.userData)
                switch tag.operation {
                case .read: complete(spliceIn: completion.result, slot: tag.slot, wave: &wave)
                case .write: complete(spliceOut: completion.result, slot: tag.slot, wave: &wave)
                case .fsync:
                    switch completion.result {
                    case .success: fsynced = true
                    case .failure(let errno) where IOURingCopyEngine.isRetryable(errno): break
                    case .failure(let errno): wave.fail(SystemError("io_uring fsync", errno: errno))
                    }
                }
            }
            wave.synced = wave.synced || (fsynced && requests.allSatisfy { $0.chunk == nil || $0.isDone })
        }
        if let failure = wave.failure {
            // A failed chunk may have left bytes in its pipe; the next copy must start empty.
            closePipes()
            try openPipes()
            throw failure
        }
        try extents.trimDestination(destination, sourceEnd: wave.sourceEnd)
        return CopyResult(bytesCopied: wave.copied, method: Self.identifier, syscalls: wave.enters + extents.syscalls)
    }

    // MARK: - Phases

    /// Queues what `slot` needs next. Bytes left in the pipe (after a short splice) are drained
    /// first, alone: a splice into a full pipe would wait for a reader that is linked behind it.
    /// Otherwise the rest of the chunk goes in, linked to the same count coming out; the linked
    /// splice out runs only after a full splice in, so it never waits on an empty pipe.
    private func queueNextStep(slot: Int, source: FileDescriptor, destination: FileDescriptor) throws(SystemError) -> Int {
        let request = requests[slot]
        guard let chunk = request.chunk else { return 0 }
        let pipe = pipes[slot]
        let outTag = IOURingCopyEngine.Tag(slot: slot, operation: .write).rawValue
        if request.filled > request.written {
            try ring.queueSplice(
                from: pipe.read, at: nil, to: destination, at: chunk.lowerBound + Int64(request.written),
                length: request.filled - request.written, userData: outTag)
            return 1
        }
        let rest = chunk.count - request.filled
        try ring.queueSplice(
            from: source, at: chunk.lowerBound + Int64(request.filled), to: pipe.write, at: nil,
            length: rest, userData: IOURingCopyEngine.Tag(slot: slot, operation: .read).rawValue, flags: .link)
        try ring.queueSplice(
            from: pipe.read, at: nil, to: destination, at: chunk.lowerBound + Int64(request.written),
            length: rest, userData: outTag)
        return 2
    }

    private func complete(spliceIn result: Result<Int, Errno>, slot: Int, wave: inout IOURingCopyEngine.Wave) {
        guard let chunk = requests[slot].chunk else { preconditionFailure("a splice completed for free slot \(slot)") }
        switch result {
        case .success(0):
            requests[slot].sourceEnded = true
            wave.sourceEnded(at: chunk.lowerBound + Int64(requests[slot].filled))
        case .success(let count):
            requests[slot].filled += count
        case .failure(let errno) where IOURingCopyEngine.isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError("io_uring splice (file to pipe)", errno: errno))
        }
    }

    private func complete(spliceOut result: Result<Int, Errno>, slot: Int, wave: inout IOURingCopyEngine.Wave) {
        switch result {
        case .success(0):
            wave.fail(SystemError("io_uring splice (pipe to file)", errno: .ioError))
        case .success(let count):
            requests[slot].written += count
            wave.copied += Int64(count)
        case .failure(let errno) where IOURingCopyEngine.isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError("io_uring splice (pipe to file)", errno: errno))
        }
    }

    // MARK: - Pipes

    private func openPipes() throws(SystemError) {
        var granted = options.blockSize
        do {
            for _ in 0..<options.queueDepth {
                let pipe = try FileDescriptor.makePipe()
                pipes.append(pipe)
                // Unprivileged, F_SETPIPE_SZ stops at /proc/sys/fs/pipe-max-size and the per-user
                // pipe quota; the default 64 KiB pipe still works, in smaller chunks.
                let size = (try? pipe.write.setPipeSize(options.blockSize)) ?? 65536
                granted = min(granted, size)
            }
        } catch {
            closePipes()
            throw error
        }
        chunkSize = granted
    }

    private func closePipes() {
        for pipe in pipes {
            pipe.read.closeIgnoringErrors()
            pipe.write.closeIgnoringErrors()
        }
        pipes.removeAll()
    }
}
