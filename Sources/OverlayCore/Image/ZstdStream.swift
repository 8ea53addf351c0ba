internal import CCompression

/// Decompresses a zstd stream (RFC 8878) with libzstd: any number of frames, skippable frames
/// included; a stream that ends inside a frame is truncated.
final class ZstdStream: ByteStream {
    private let source: any ByteStream
    private let name: String
    private let context: OpaquePointer
    private let input: UnsafeMutableRawBufferPointer
    private var inputBuffer = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
    private var sourceEnded = false
    /// libzstd's last hint: 0 when the last frame is complete and flushed.
    private var pending: Int = 1

    init(_ source: any ByteStream, name: String) throws {
        guard let context = ZSTD_createDStream() else { throw ImageError(.io, "\(name): ZSTD_createDStream failed") }
        self.source = source
        self.name = name
        self.context = context
        input = .allocate(byteCount: imageChunkSize, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(context)
        input.deallocate()
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if buffer.isEmpty { return 0 }
        var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        while output.pos < output.size {
            if inputBuffer.pos == inputBuffer.size && !sourceEnded {
                let n = try source.read(into: input)
                if n == 0 { sourceEnded = true }
                inputBuffer = ZSTD_inBuffer(src: input.baseAddress, size: n, pos: 0)
            }
            if inputBuffer.pos == inputBuffer.size && sourceEnded {
                // Everything read: either the last frame ended, or the stream was cut short.
                if pending == 0 { break }
                let before = output.pos
                let hint = ZSTD_decompressStream(context, &output, &inputBuffer)
                if ZSTD_isError(hint) != 0 { throw failure(hint) }
                pending = hint
                if output.pos > before { continue }
                if pending != 0 { throw ImageError(.malformed, "\(name): truncated zstd stream") }
                break
            }
            let hint = ZSTD_decompressStream(context, &output, &inputBuffer)
            if ZSTD_isError(hint) != 0 { throw failure(hint) }
            pending = hint
        }
        return output.pos
    }

    private func failure(_ code: Int) -> ImageError {
        ImageError(.malformed, "\(name): zstd: \(String(cString: ZSTD_getErrorName(code)))")
    }
}
