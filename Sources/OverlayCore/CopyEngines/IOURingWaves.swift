import OverlaySystem

/// The wave loop that both io_uring engines run, over a table of ``CopySlot``s.
///
/// Each wave: every free slot takes the next chunk of the source's data; every busy slot queues
/// its next step (the engine's `queue`: a read linked to a write, or a splice into a pipe linked
/// to a splice out of it); once every chunk has started, an fsync with `IOSQE_IO_DRAIN` goes
/// behind them. One `io_uring_enter(2)` submits the wave and waits for all of it, so the number
/// of calls depends only on the file's layout and the options, and no slot's buffer is in use
/// between waves. Completions advance their slot: a read (or splice in) of 0 bytes is the
/// source's end, `-EAGAIN`, `-EINTR` and `-ECANCELED` (a broken link) leave the slot to be
/// requeued in the next wave, as do short reads and writes; any other error ends the copy after
/// the waves in flight drain.
enum IOURingWaves {
    /// What the completions of one engine are called in its errors.
    struct Names {
        var read: String
        var write: String
    }

    /// Copies every chunk `extents` yields, `chunkSize` bytes at most, through `requests`
    /// (reset first) into `destination`; `queue` queues a slot's next step and returns how many
    /// requests it queued. Returns the finished copy's tally; throws the first failure.
    static func run(
        on ring: IOURing, requests: inout [CopySlot], extents: inout DataExtents, chunkSize: Int,
        destination: FileDescriptor, fsync: Bool, names: Names, queue: (_ request: CopySlot, _ slot: Int) throws(SystemError) -> Int
    ) throws -> Wave {
        var wave = Wave(fsync: fsync)
        for slot in requests.indices { requests[slot] = CopySlot() }
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
                    queued += try queue(requests[slot], slot)
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
                case .read: completeRead(completion.result, request: &requests[tag.slot], wave: &wave, name: names.read)
                case .write: completeWrite(completion.result, request: &requests[tag.slot], wave: &wave, name: names.write)
                case .fsync:
                    switch completion.result {
                    case .success: fsynced = true
                    case .failure(let errno) where isRetryable(errno): break
                    case .failure(let errno): wave.fail(SystemError("io_uring fsync", errno: errno))
                    }
                }
            }
            // A chunk requeued after the fsync needs another one.
            wave.synced = wave.synced || (fsynced && requests.allSatisfy { $0.chunk == nil || $0.isDone })
        }
        if let failure = wave.failure { throw failure }
        return wave
    }

    private static func completeRead(_ result: Result<Int, Errno>, request: inout CopySlot, wave: inout Wave, name: String) {
        guard let chunk = request.chunk else { preconditionFailure("\(name) completed for a free slot") }
        switch result {
        case .success(0):
            request.sourceEnded = true
            wave.sourceEnded(at: chunk.lowerBound + Int64(request.filled))
        case .success(let count):
            request.filled += count
        case .failure(let errno) where isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError(name, errno: errno))
        }
    }

    private static func completeWrite(_ result: Result<Int, Errno>, request: inout CopySlot, wave: inout Wave, name: String) {
        switch result {
        case .success(0):
            // Only ever asked for a non-empty range: no progress would loop forever.
            wave.fail(SystemError(name, errno: .ioError))
        case .success(let count):
            request.written += count
            wave.copied += Int64(count)
        case .failure(let errno) where isRetryable(errno):
            break
        case .failure(let errno):
            wave.fail(SystemError(name, errno: errno))
        }
    }

    /// `-EAGAIN` (io-wq would block), `-EINTR`, and `-ECANCELED` (a broken link) are requeued.
    static func isRetryable(_ errno: Errno) -> Bool {
        errno == .resourceTemporarilyUnavailable || errno == .interrupted || errno == .canceled
    }

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
