import OverlaySystem

/// Bytes read in order, a chunk at a time: a blob, a decompressed blob, a tar member.
/// `read` fills at most `buffer.count` bytes and returns how many; 0 means the end.
protocol ByteStream: AnyObject {
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// The size of the chunks blobs are read and decompressed in.
let imageChunkSize = 1 << 20

/// A byte range of a file (a blob, or a member of an archive) that checks, as it streams, that
/// it has exactly `length` bytes and that their SHA-256 is `digest`: the check happens on the
/// read that delivers the last byte, so nothing after the blob's end is trusted unchecked.
final class VerifiedBlobStream: ByteStream {
    let name: String
    private let file: FileDescriptor
    private let start: Int64
    private let length: Int64
    private let expected: Digest?
    private var position: Int64 = 0
    private var hasher = SHA256Hasher()
    private(set) var verified = false

    /// `expected` nil only hashes (a docker-archive layer, whose digest is its diff ID).
    init(name: String, file: FileDescriptor, offset: Int64, length: Int64, expected: Digest?) {
        self.name = name
        self.file = file
        self.start = offset
        self.length = length
        self.expected = expected
    }

    /// The digest of what was read: final only once the stream reached its end.
    var digest: Digest { Digest(sha256: hasher.finalize()) }
    var bytesRead: Int64 { position }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), length - position))
        if wanted == 0 { return 0 }
        let got: Int
        do {
            got = try file.pread(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: start + position)
        } catch {
            throw ImageError.system(error, name)
        }
        if got == 0 {
            throw ImageError(.malformed, "\(name): truncated: \(position) of \(length) bytes")
        }
        hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
        position += Int64(got)
        if position == length { try check() }
        return got
    }

    /// Reads and hashes the rest (what a decompressor or the tar reader left unread).
    func drain() throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: imageChunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while try read(into: buffer) > 0 {}
        if length == 0 { try check() }
    }

    private func check() throws {
        if let expected, digest != expected {
            throw ImageError(.malformed, "\(name): digest mismatch: the blob's SHA-256 is \(digest), not \(expected)")
        }
        verified = true
    }
}

/// A stream that hashes what passes through: the decompressed layer, checked against its diff ID.
final class HashingStream: ByteStream {
    private let source: any ByteStream
    private var hasher = SHA256Hasher()
    private(set) var count: Int64 = 0

    init(_ source: any ByteStream) { self.source = source }

    var digest: Digest { Digest(sha256: hasher.finalize()) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: buffer)
        if n > 0 {
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            count += Int64(n)
        }
        return n
    }
}

/// Bytes already read (the start of a blob, read to check its magic) followed by the rest.
final class PrefixedStream: ByteStream {
    private var prefix: [UInt8]
    private var offset = 0
    private let rest: any ByteStream

    init(prefix: [UInt8], rest: any ByteStream) {
        self.prefix = prefix
        self.rest = rest
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if offset < prefix.count {
            let n = min(buffer.count, prefix.count - offset)
            prefix.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            if offset == prefix.count { prefix = []; offset = 0 }
            return n
        }
        return try rest.read(into: buffer)
    }
}
