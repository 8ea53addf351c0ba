/// How the io_uring engines (``IOURingCopyEngine``, ``IOURingSpliceCopyEngine``) pipeline a copy.
///
/// The buffers (or pipes) in flight total ``queueDepth`` × ``blockSize`` bytes, capped at
/// ``maximumBufferBytes`` whatever the file size.
public struct IOURingCopyOptions: Sendable, Hashable {
    /// Chunks in flight at once: each is a read linked to a write (or a splice into a pipe
    /// linked to a splice out of it).
    public var queueDepth: Int
    /// Bytes per chunk: the size of one buffer slot (or one pipe).
    public var blockSize: Int
    /// Register the buffers with `io_uring_register_buffers(3)` and use `READ_FIXED`/`WRITE_FIXED`;
    /// the engine falls back to plain buffers where registration fails (`RLIMIT_MEMLOCK`).
    public var fixedBuffers: Bool
    /// Set `IOSQE_ASYNC` on the reads, so io-wq workers run them on the other cores instead of
    /// the submitting thread running them inline one after another.
    public var asyncReads: Bool

    /// The cap on `queueDepth × blockSize`.
    public static let maximumBufferBytes = 64 << 20

    /// The defaults measured fastest on a warm ext4 page cache (2 vCPUs, kernel 6.18, medians of
    /// 10–15 interleaved runs at 64 and 256 MiB): 4 × 1 MiB with `IOSQE_ASYNC` reads. Without
    /// async reads the submitting thread reads every chunk inline before any linked write starts,
    /// and ran 15–45% slower; depths 8–32 and 256–512 KiB blocks were no faster, and fixed
    /// buffers made no difference beyond the noise.
    public init(queueDepth: Int = 4, blockSize: Int = 1 << 20, fixedBuffers: Bool = false, asyncReads: Bool = true) {
        self.queueDepth = queueDepth
        self.blockSize = blockSize
        self.fixedBuffers = fixedBuffers
        self.asyncReads = asyncReads
    }

    /// Checks the ranges: a positive depth of at most 1024, blocks of 4 KiB to 64 MiB in whole
    /// pages, and at most ``maximumBufferBytes`` in flight.
    public func validate() throws(CopyEngineError) {
        guard (1...1024).contains(queueDepth) else {
            throw .invalidOptions(reason: "queueDepth \(queueDepth) is not in 1...1024")
        }
        guard blockSize >= 4096, blockSize % 4096 == 0 else {
            throw .invalidOptions(reason: "blockSize \(blockSize) is not a positive multiple of 4096")
        }
        guard queueDepth * blockSize <= Self.maximumBufferBytes else {
            throw .invalidOptions(reason: "queueDepth × blockSize = \(queueDepth * blockSize) bytes exceeds \(Self.maximumBufferBytes)")
        }
    }
}
