import OverlaySystem

/// The byte ranges of a source file that a copy must move, walked lazily.
///
/// Without hole skipping that is the one range `0..<length`. With it, the walk alternates
/// `SEEK_DATA` and `SEEK_HOLE` (`lseek(2)`) as copy-up does before each chunk, so only data
/// extents are visited, and ``end`` is the requested length clipped to the source's size.
///
/// Every engine walks its source through this type; ``syscalls`` counts the `lseek`, `statx` and
/// `ftruncate` calls it made, for ``CopyResult/syscalls``.
public struct DataExtents {
    public let source: FileDescriptor
    public let skipHoles: Bool
    /// Where the copy stops: the requested length, or with hole skipping the smaller of that and
    /// the source's size (`statx(2)`).
    public let end: Int64
    public private(set) var syscalls = 0

    private var position: Int64 = 0
    private var pending: Range<Int64>?

    /// Starts a walk of `source` over `0..<length`.
    public init(of source: FileDescriptor, length: Int64, skipHoles: Bool) throws(SystemError) {
        try self.init(of: source, length: length, options: CopyOptions(skipHoles: skipHoles))
    }

    /// Starts a walk of `source` over `0..<length` as `options` ask. With hole skipping and a
    /// known ``CopyOptions/sourceStatus`` that leaves no room for holes, the walk is the one
    /// range up to the source's size, with no `lseek(2)` and no `ftruncate(2)`.
    public init(of source: FileDescriptor, length: Int64, options: CopyOptions) throws(SystemError) {
        precondition(length >= 0, "a copy length cannot be negative")
        self.source = source
        guard options.skipHoles else {
            skipHoles = false
            end = length
            return
        }
        let status: FileStatus
        if let known = options.sourceStatus {
            status = known
        } else {
            status = try source.status()
            syscalls += 1
        }
        end = min(length, status.size)
        skipHoles = !Self.isDense(status)
    }

    /// Whether a file has all of its bytes allocated, so it has no hole to skip. A file whose
    /// allocation also runs past its end may still hold a hole; copying it as data keeps its
    /// bytes and loses only that hole, never data.
    public static func isDense(_ status: FileStatus) -> Bool {
        status.allocatedBytes >= status.size
    }

    /// The next whole data extent, or nil when none is left before ``end``.
    public mutating func next() throws(SystemError) -> Range<Int64>? {
        if let pending {
            self.pending = nil
            return pending
        }
        guard position < end else { return nil }
        guard skipHoles else {
            defer { position = end }
            return position..<end
        }
        syscalls += 1
        guard let data = try source.nextData(from: position), data < end else {
            position = end
            return nil
        }
        syscalls += 1
        // SEEK_HOLE finds the implicit hole at end of file at worst; nil only if the file shrank.
        let hole = min(try source.nextHole(from: data) ?? end, end)
        position = hole
        return data < hole ? data..<hole : nil
    }

    /// The next piece of at most `maximumLength` bytes of a data extent, or nil at the end.
    public mutating func nextChunk(maximumLength: Int) throws(SystemError) -> Range<Int64>? {
        precondition(maximumLength > 0, "a chunk must hold at least one byte")
        guard let extent = try next() else { return nil }
        let upper = min(extent.upperBound, extent.lowerBound + Int64(maximumLength))
        if upper < extent.upperBound { pending = upper..<extent.upperBound }
        return extent.lowerBound..<upper
    }

    /// With hole skipping, sets `destination`'s size to ``end`` before any data is written, so
    /// the holes between and after the data extents stay holes (`ftruncate(2)`).
    public mutating func sizeDestination(_ destination: FileDescriptor) throws(SystemError) {
        guard skipHoles else { return }
        try destination.truncate(to: end)
        syscalls += 1
    }

    /// With hole skipping, shrinks `destination` back to `sourceEnd` when the source turned out
    /// shorter than ``end`` (it shrank during the copy).
    public mutating func trimDestination(_ destination: FileDescriptor, sourceEnd: Int64?) throws(SystemError) {
        guard skipHoles, let sourceEnd, sourceEnd < end else { return }
        try destination.truncate(to: sourceEnd)
        syscalls += 1
    }
}

/// How far one copy has got: what a synchronous engine's loop over ``DataExtents`` updates.
struct CopyTally {
    var copied: Int64 = 0
    var syscalls = 0
    /// Where the source turned out to end, when it was shorter than ``DataExtents/end``.
    var sourceEnd: Int64?
    /// What ran: the engine, or the engine it fell back to.
    var method: String
}

extension DataExtents {
    /// The frame of a synchronous engine's copy: the walk of `source`'s data, the destination
    /// sized before (so holes stay holes) and trimmed after if the source shrank, and the fsync
    /// that ``CopyOptions/fsync`` asks for. `body` moves the data, updating the tally.
    static func copy(
        from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions, method: String,
        _ body: (inout DataExtents, inout CopyTally) throws -> Void
    ) throws -> CopyResult {
        var extents = try DataExtents(of: source, length: length, options: options)
        try extents.sizeDestination(destination)
        var tally = CopyTally(method: method)
        try body(&extents, &tally)
        try extents.trimDestination(destination, sourceEnd: tally.sourceEnd)
        if options.fsync {
            try destination.fsync()
            tally.syscalls += 1
        }
        return CopyResult(bytesCopied: tally.copied, method: tally.method, syscalls: tally.syscalls + extents.syscalls)
    }
}
