internal import CLiburing
internal import Glibc


/// One io_uring instance (liburing's `struct io_uring`), set up with `io_uring_queue_init(3)` and
/// torn down with `io_uring_queue_exit(3)`.
///
/// The ring is heap-allocated so its address is stable for liburing. liburing returns `-errno`
/// rather than setting `errno`; every wrapper converts that at once.
public final class IOURing {
    let ring: UnsafeMutablePointer<io_uring>
    public let entries: UInt32

    /// `io_uring_queue_init(3)` with `entries` submission slots.
    public init(entries: UInt32) throws(SystemError) {
        ring = .allocate(capacity: 1)
        ring.initialize(to: io_uring())
        let rc = io_uring_queue_init(entries, ring, 0)
        if rc < 0 {
            ring.deallocate()
            throw SystemError("io_uring_queue_init", errno: Errno(rawValue: -rc))
        }
        self.entries = entries
    }

    deinit {
        io_uring_queue_exit(ring)
        ring.deallocate()
    }

    /// Runs this ring's io-wq workers on `cpu` only (`io_uring_register_iowq_aff(3)`, 5.14+).
    public func restrictWorkers(toCPU cpu: Int) throws(SystemError) {
        let rc = cl_register_iowq_cpu(ring, Int32(cpu))
        if rc < 0 { throw SystemError("io_uring_register_iowq_aff", errno: Errno(rawValue: -rc)) }
    }

    /// Lets this ring's io-wq workers run on any CPU again (`io_uring_unregister_iowq_aff(3)`).
    public func releaseWorkers() throws(SystemError) {
        let rc = io_uring_unregister_iowq_aff(ring)
        if rc < 0 { throw SystemError("io_uring_unregister_iowq_aff", errno: Errno(rawValue: -rc)) }
    }

    /// The CPU the calling thread is running on (`sched_getcpu(3)`), or nil if unknown.
    public static var currentCPU: Int? {
        let cpu = cl_current_cpu()
        return cpu < 0 ? nil : Int(cpu)
    }

    /// Whether the kernel supports `opcode` (`io_uring_get_probe_ring(3)`).
    public func supports(opcode: UInt8) -> Bool {
        guard let probe = io_uring_get_probe_ring(ring) else { return false }
        defer { io_uring_free_probe(probe) }
        return io_uring_opcode_supported(probe, Int32(opcode)) != 0
    }

    /// Submits a no-op and waits for its completion: proves a ring really works here.
    public func roundTripNop() throws(SystemError) {
        guard let sqe = io_uring_get_sqe(ring) else { throw SystemError("io_uring_get_sqe", errno: .resourceBusy) }
        io_uring_prep_nop(sqe)
        cl_sqe_set_data64(sqe, 42)
        let submitted = io_uring_submit(ring)
        if submitted < 0 { throw SystemError("io_uring_submit", errno: Errno(rawValue: -submitted)) }
        var cqe: UnsafeMutablePointer<io_uring_cqe>?
        let rc = io_uring_wait_cqe(ring, &cqe)
        if rc < 0 { throw SystemError("io_uring_wait_cqe", errno: Errno(rawValue: -rc)) }
        if let cqe {
            let res = cqe.pointee.res
            io_uring_cqe_seen(ring, cqe)
            if res < 0 { throw SystemError("io_uring nop", errno: Errno(rawValue: -res)) }
        }
    }

    /// `/proc/sys/kernel/io_uring_disabled`: 0 allows everyone, 1 a group, 2 no one. nil if absent.
    public static var disabledSysctl: Int? {
        guard let bytes = try? FileSystem.readFile("/proc/sys/kernel/io_uring_disabled") else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self).filter(\.isNumber))
    }
}
