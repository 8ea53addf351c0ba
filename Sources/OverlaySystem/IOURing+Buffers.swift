internal import CLiburing
internal import Glibc

/// Page-aligned memory for in-flight io_uring requests: `count` slots of `size` bytes each.
///
/// The memory is owned here and its address never leaves OverlaySystem: a request names a slot
/// and a byte range inside it, and the copy loop's request table (indexed by `user_data`) says
/// which slot each in-flight request uses. The owner must keep these buffers alive, and must not
/// reuse a slot, until every request that names it has completed.
///
/// Registered with ``register(with:)`` (`io_uring_register_buffers(3)`), slot `i` becomes fixed
/// buffer `i`, and ``IOURing/queueRead(_:into:slot:range:at:userData:flags:)`` and
/// ``IOURing/queueWrite(_:from:slot:range:at:userData:flags:)`` then use
/// `IORING_OP_READ_FIXED`/`IORING_OP_WRITE_FIXED`, which skip pinning the pages on every request.
public final class IOURingBuffers {
    private let base: UnsafeMutableRawPointer
    public let count: Int
    public let size: Int
    /// The ring the slots are registered with as fixed buffers, if any. Held strongly, so the
    /// ring outlives the registration and ``deinit`` can unregister.
    public private(set) var registeredRing: IOURing?

    /// Allocates `count × size` bytes, page-aligned (so `O_DIRECT` would work too).
    public init(count: Int, size: Int) {
        precondition(count > 0 && size > 0, "IOURingBuffers needs at least one non-empty slot")
        self.count = count
        self.size = size
        base = .allocate(byteCount: count * size, alignment: 4096)
        base.initializeMemory(as: UInt8.self, repeating: 0, count: count * size)
    }

    deinit {
        if let registeredRing { io_uring_unregister_buffers(registeredRing.ring) }
        base.deallocate()
    }

    /// Registers every slot as a fixed buffer of `ring` (`io_uring_register_buffers(3)`).
    ///
    /// Fails with `ENOMEM` where the locked-memory limit is too small (`RLIMIT_MEMLOCK`; root with
    /// `CAP_IPC_LOCK` is exempt) and `EBUSY` when the ring already has buffers registered.
    public func register(with ring: IOURing) throws(SystemError) {
        precondition(registeredRing == nil, "IOURingBuffers are already registered")
        var vectors = (0..<count).map { iovec(iov_base: base + $0 * size, iov_len: size) }
        let rc = vectors.withUnsafeMutableBufferPointer {
            io_uring_register_buffers(ring.ring, $0.baseAddress, UInt32($0.count))
        }
        if rc < 0 { throw SystemError("io_uring_register_buffers", errno: Errno(rawValue: -rc)) }
        registeredRing = ring
    }

    /// Whether requests on `ring` can use these slots as fixed buffers.
    public func isRegistered(with ring: IOURing) -> Bool { registeredRing === ring }

    /// Calls `body` with the bytes of `range` in `slot` (tests, checksums). Never while a request
    /// that names the slot is in flight.
    public func withBytes<R>(slot: Int, range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: address(slot: slot, offset: range.lowerBound), count: range.count))
    }

    /// The address of byte `offset` of `slot`; only for the `queue…` calls in this module.
    func address(slot: Int, offset: Int) -> UnsafeMutableRawPointer {
        precondition(slot >= 0 && slot < count && offset >= 0 && offset <= size, "slot \(slot) offset \(offset) out of range")
        return base + slot * size + offset
    }
}
