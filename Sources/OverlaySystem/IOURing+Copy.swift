internal import CLiburing
internal import Glibc

/// `IOSQE_*` flags of one submission.
public struct IOURingSubmissionFlags: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `IOSQE_IO_LINK`: the next submission starts only after this one succeeds in full. A short
    /// read or write counts as a failure, so the linked request completes with `-ECANCELED`.
    public static let link = IOURingSubmissionFlags(rawValue: UInt32(CL_IOSQE_IO_LINK))
    /// `IOSQE_IO_DRAIN`: starts only after every earlier submission has completed.
    public static let drain = IOURingSubmissionFlags(rawValue: UInt32(CL_IOSQE_IO_DRAIN))
    /// `IOSQE_ASYNC`: skip the inline, non-blocking attempt and hand the request to an io-wq worker.
    public static let async = IOURingSubmissionFlags(rawValue: UInt32(CL_IOSQE_ASYNC))
}

/// One completion (`struct io_uring_cqe`), with `res` already split into a count or an ``Errno``.
public struct IOURingCompletion: Sendable, Hashable {
    /// The `user_data` of the request this completes.
    public var userData: UInt64
    /// The bytes transferred (or 0 for fsync), or the errno of a negative `res`.
    public var result: Result<Int, Errno>

    public init(userData: UInt64, result: Result<Int, Errno>) {
        self.userData = userData
        self.result = result
    }
}

/// The copy path: queue reads, writes, splices and fsyncs; submit; reap.
///
/// Queueing only fills a submission slot (`io_uring_get_sqe(3)` and an `io_uring_prep_*` call);
/// nothing reaches the kernel until ``submit(waitingFor:)``, which is one `io_uring_enter(2)`.
extension IOURing {
    /// Free submission slots (`io_uring_sq_space_left(3)`).
    public var submissionSpaceLeft: Int { Int(io_uring_sq_space_left(ring)) }

    /// Whether the kernel knows `IORING_OP_SPLICE` (5.7+).
    public var supportsSplice: Bool { supports(opcode: UInt8(IORING_OP_SPLICE.rawValue)) }

    /// Queues a read of `range` bytes of `slot` from `fd` at `offset` (`io_uring_prep_read(3)`,
    /// or `io_uring_prep_read_fixed(3)` when `buffers` are registered with this ring).
    public func queueRead(
        _ fd: FileDescriptor, into buffers: IOURingBuffers, slot: Int, range: Range<Int>, at offset: Int64,
        userData: UInt64, flags: IOURingSubmissionFlags = []
    ) throws(SystemError) {
        let sqe = try nextSubmission("io_uring read")
        let address = buffers.address(slot: slot, offset: range.lowerBound)
        if buffers.isRegistered(with: self) {
            io_uring_prep_read_fixed(sqe, fd.rawValue, address, UInt32(range.count), UInt64(offset), Int32(slot))
        } else {
            io_uring_prep_read(sqe, fd.rawValue, address, UInt32(range.count), UInt64(offset))
        }
        finish(sqe, userData: userData, flags: flags)
    }

    /// Queues a write of `range` bytes of `slot` to `fd` at `offset` (`io_uring_prep_write(3)`,
    /// or `io_uring_prep_write_fixed(3)` when `buffers` are registered with this ring).
    public func queueWrite(
        _ fd: FileDescriptor, from buffers: IOURingBuffers, slot: Int, range: Range<Int>, at offset: Int64,
        userData: UInt64, flags: IOURingSubmissionFlags = []
    ) throws(SystemError) {
        let sqe = try nextSubmission("io_uring write")
        let address = buffers.address(slot: slot, offset: range.lowerBound)
        if buffers.isRegistered(with: self) {
            io_uring_prep_write_fixed(sqe, fd.rawValue, address, UInt32(range.count), UInt64(offset), Int32(slot))
        } else {
            io_uring_prep_write(sqe, fd.rawValue, address, UInt32(range.count), UInt64(offset))
        }
        finish(sqe, userData: userData, flags: flags)
    }

    /// Queues `IORING_OP_SPLICE` (`io_uring_prep_splice(3)`) of up to `length` bytes; a nil
    /// offset means a pipe (which has no position). The kernel always runs splices in io-wq.
    public func queueSplice(
        from source: FileDescriptor, at sourceOffset: Int64?, to destination: FileDescriptor, at destinationOffset: Int64?,
        length: Int, userData: UInt64, flags: IOURingSubmissionFlags = []
    ) throws(SystemError) {
        let sqe = try nextSubmission("io_uring splice")
        // io_uring_prep_splice(3): an offset of -1 means "no offset", as for a pipe.
        io_uring_prep_splice(
            sqe, source.rawValue, sourceOffset ?? -1, destination.rawValue, destinationOffset ?? -1,
            UInt32(length), UInt32(CL_SPLICE_F_MOVE))
        finish(sqe, userData: userData, flags: flags)
    }

    /// Queues `IORING_OP_FSYNC` (`io_uring_prep_fsync(3)`); `dataOnly` is `IORING_FSYNC_DATASYNC`.
    public func queueFsync(
        _ fd: FileDescriptor, dataOnly: Bool = false, userData: UInt64, flags: IOURingSubmissionFlags = []
    ) throws(SystemError) {
        let sqe = try nextSubmission("io_uring fsync")
        io_uring_prep_fsync(sqe, fd.rawValue, dataOnly ? UInt32(IORING_FSYNC_DATASYNC) : 0)
        finish(sqe, userData: userData, flags: flags)
    }

    /// Submits everything queued and waits until at least `count` completions are ready:
    /// `io_uring_submit_and_wait(3)`, one `io_uring_enter(2)` (more only if a signal interrupts
    /// the wait). Returns the number of submissions the kernel took.
    @discardableResult
    public func submit(waitingFor count: Int) throws(SystemError) -> Int {
        while true {
            let rc = io_uring_submit_and_wait(ring, UInt32(count))
            if rc >= 0 { return Int(rc) }
            if -rc == EINTR { continue }
            throw SystemError("io_uring_submit_and_wait", errno: Errno(rawValue: -rc))
        }
    }

    /// Hands every ready completion to `body`, oldest first, then marks them seen
    /// (`io_uring_peek_batch_cqe(3)` and `io_uring_cq_advance(3)`); makes no syscall.
    /// Returns how many there were.
    @discardableResult
    public func reap(_ body: (IOURingCompletion) throws -> Void) rethrows -> Int {
        var total = 0
        while true {
            // A stack batch: reaping allocates nothing on the heap.
            let count = try withUnsafeTemporaryAllocation(of: UnsafeMutablePointer<io_uring_cqe>?.self, capacity: 32) {
                batch throws -> Int in
                let count = Int(io_uring_peek_batch_cqe(ring, batch.baseAddress, UInt32(batch.count)))
                for cqe in batch[..<count] {
                    guard let cqe else { continue }
                    let res = cqe.pointee.res
                    let completion = IOURingCompletion(
                        userData: cl_cqe_get_data64(cqe),
                        result: res < 0 ? .failure(Errno(rawValue: -res)) : .success(Int(res)))
                    // Seen before calling out: a throwing `body` leaves the rest for the next reap.
                    io_uring_cq_advance(ring, 1)
                    try body(completion)
                }
                return count
            }
            if count == 0 { return total }
            total += count
        }
    }

    private func nextSubmission(_ operation: String) throws(SystemError) -> UnsafeMutablePointer<io_uring_sqe> {
        // A full submission queue is the caller's bookkeeping error, but reported, not trapped,
        // like roundTripNop reports it.
        guard let sqe = io_uring_get_sqe(ring) else { throw SystemError("\(operation): io_uring_get_sqe", errno: .resourceBusy) }
        return sqe
    }

    private func finish(_ sqe: UnsafeMutablePointer<io_uring_sqe>, userData: UInt64, flags: IOURingSubmissionFlags) {
        cl_sqe_set_data64(sqe, userData)
        cl_sqe_set_flags(sqe, flags.rawValue)
    }
}
