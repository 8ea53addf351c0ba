internal import CCompression

/// Inflates a gzip stream (RFC 1952) with zlib. Concatenated members are one stream, as gzip(1)
/// reads them; bytes after the last member that do not start another are left unread (some
/// tools pad layers), and the blob's digest still covers them.
final class GzipStream: ByteStream {
    private let source: any ByteStream
    private let name: String
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var sourceEnded = false
    private var finished = false

    init(_ source: any ByteStream, name: String) throws {
        self.source = source
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        input = .allocate(byteCount: imageChunkSize, alignment: 16)
        let rc = cc_inflate_init_gzip(stream)
        if rc != Z_OK {
            stream.deallocate()
            input.deallocate()
            throw ImageError(.io, "\(name): inflateInit2 failed (zlib error \(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    private func refill() throws {
        guard stream.pointee.avail_in == 0, !sourceEnded else { return }
        let n = try source.read(into: input)
        if n == 0 { sourceEnded = true }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if finished || buffer.isEmpty { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(buffer.count)
        while stream.pointee.avail_out > 0 {
            try refill()
            if stream.pointee.avail_in == 0 && sourceEnded {
                throw ImageError(.malformed, "\(name): truncated gzip stream")
            }
            let rc = inflate(stream, Z_NO_FLUSH)
            if rc == Z_STREAM_END {
                try refill()
                let next = stream.pointee.next_in
                if stream.pointee.avail_in >= 2, let next, next[0] == 0x1f, next[1] == 0x8b {
                    inflateReset(stream)
                    continue
                }
                finished = true
                break
            }
            if rc != Z_OK && rc != Z_BUF_ERROR {
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw ImageError(.malformed, "\(name): gzip: \(message)")
            }
            // Z_BUF_ERROR with input left means the output is full; the loop condition ends it.
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }
}
