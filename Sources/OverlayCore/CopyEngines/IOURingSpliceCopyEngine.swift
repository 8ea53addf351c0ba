import OverlaySystem

/// Copies with `IORING_OP_SPLICE`, file → pipe → file: the io_uring analogue of the kernel's
/// `do_splice_direct`, which copy-up uses. The splice into a pipe only takes references to the
/// source's page-cache pages, so each byte is copied once, into the destination's page cache.
///
/// Each of ``IOURingCopyOptions/queueDepth`` slots owns a pipe of ``IOURingCopyOptions/blockSize``
/// bytes (`F_SETPIPE_SZ`); a chunk is a splice into the pipe linked to a splice out of it. The
/// kernel runs splices in io-wq, so the chunks' splices into pipes run in parallel while the
/// splices into the one destination file run one after another. Waves, requeueing and the fsync
/// work as in ``IOURingCopyEngine`` (``IOURingWaves``). Use it from one thread at a time.
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
        // Splices always run in io-wq; one chunk has nothing to overlap, so it stays on this CPU.
        workers.place(ring, local: extents.end <= Int64(chunkSize))
        let wave: IOURingWaves.Wave
        do {
            wave = try IOURingWaves.run(
                on: ring, requests: &requests, extents: &extents, chunkSize: chunkSize, destination: destination,
                fsync: options.fsync, names: .init(read: "io_uring splice (file to pipe)", write: "io_uring splice (pipe to file)")
            ) { request, slot throws(SystemError) in
                try queueNextStep(request, slot: slot, source: source, destination: destination)
            }
        } catch {
            // A failed chunk may have left bytes in its pipe; the next copy must start empty.
            closePipes()
            try openPipes()
            throw error
        }
        try extents.trimDestination(destination, sourceEnd: wave.sourceEnd)
        return CopyResult(bytesCopied: wave.copied, method: Self.identifier, syscalls: wave.enters + extents.syscalls)
    }

    // MARK: - Phases

    /// Queues what `slot` needs next. Bytes left in the pipe (after a short splice) are drained
    /// first, alone: a splice into a full pipe would wait for a reader that is linked behind it.
    /// Otherwise the rest of the chunk goes in, linked to the same count coming out; the linked
    /// splice out runs only after a full splice in, so it never waits on an empty pipe.
    private func queueNextStep(_ request: CopySlot, slot: Int, source: FileDescriptor, destination: FileDescriptor) throws(SystemError) -> Int {
        guard let chunk = request.chunk else { return 0 }
        let pipe = pipes[slot]
        let outTag = IOURingWaves.Tag(slot: slot, operation: .write).rawValue
        if request.filled > request.written {
            try ring.queueSplice(
                from: pipe.read, at: nil, to: destination, at: chunk.lowerBound + Int64(request.written),
                length: request.filled - request.written, userData: outTag)
            return 1
        }
        let rest = chunk.count - request.filled
        try ring.queueSplice(
            from: source, at: chunk.lowerBound + Int64(request.filled), to: pipe.write, at: nil,
            length: rest, userData: IOURingWaves.Tag(slot: slot, operation: .read).rawValue, flags: .link)
        try ring.queueSplice(
            from: pipe.read, at: nil, to: destination, at: chunk.lowerBound + Int64(request.written),
            length: rest, userData: outTag)
        return 2
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
