/// A read buffer over a ``ByteStream``: tar headers are read 512 bytes at a time from it, and
/// file data in chunks as large as what it holds.
final class BufferedReader {
    private let source: any ByteStream
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    private(set) var ended = false
    /// Bytes handed out so far (the offset of the next byte in the stream).
    private(set) var offset: Int64 = 0

    init(_ source: any ByteStream, capacity: Int = imageChunkSize) {
        self.source = source
        buffer = .allocate(byteCount: capacity, alignment: 4096)
    }

    deinit { buffer.deallocate() }

    /// Makes at least `count` bytes (at most the capacity) available; false when the stream ends
    /// first.
    func fill(_ count: Int) throws -> Bool {
        precondition(count <= buffer.count)
        if end - start >= count { return true }
        if start > 0 {
            if end > start { buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + start, byteCount: end - start) }
            end -= start
            start = 0
        }
        while end - start < count && !ended {
            let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
            if n == 0 { ended = true } else { end += n }
        }
        return end - start >= count
    }

    /// The `count` bytes ``fill(_:)`` made available, consumed.
    func take(_ count: Int) -> UnsafeRawBufferPointer {
        precondition(end - start >= count)
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + count)])
        start += count
        offset += Int64(count)
        return bytes
    }

    /// Up to `limit` bytes, read from the stream when none are buffered; empty at the end. Valid
    /// until the next call.
    func chunk(upTo limit: Int) throws -> UnsafeRawBufferPointer {
        if start == end {
            start = 0
            end = 0
            if !ended {
                let n = try source.read(into: buffer)
                if n == 0 { ended = true } else { end = n }
            }
        }
        return take(min(limit, end - start))
    }

    /// Reads the stream to its end, discarding it; returns how many bytes that was.
    @discardableResult
    func drain() throws -> Int64 {
        var count = Int64(end - start)
        offset += count
        start = 0
        end = 0
        while !ended {
            let n = try source.read(into: buffer)
            if n == 0 { ended = true }
            count += Int64(n)
            offset += Int64(n)
        }
        return count
    }
}
