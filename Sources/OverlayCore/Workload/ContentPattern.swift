/// Deterministic file content: byte `i` of a file is a pure function of the seed, the file's path
/// and `i`. Any copy can be verified without reading the original, at any offset.
///
/// The stream is SplitMix64 over the 8-byte word index, so generating and checking run at
/// memory speed and a 1-byte change anywhere is caught.
public struct ContentPattern: Sendable, Hashable {
    public let seed: UInt64
    public let key: UInt64

    public init(seed: UInt64, path: String) {
        self.seed = seed
        // FNV-1a of the path: stable across runs and platforms (unlike Hasher).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        self.key = hash
    }

    @inline(__always)
    func word(_ index: UInt64) -> UInt64 {
        var z = seed &+ key &* 0x9e37_79b9_7f4a_7c15 &+ index &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// The byte at `offset`.
    public func byte(at offset: Int64) -> UInt8 {
        let w = word(UInt64(offset) / 8)
        return UInt8(truncatingIfNeeded: w >> (8 * (UInt64(offset) % 8)))
    }

    /// Fills `buffer` with the bytes that belong at `offset`.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer, at offset: Int64) {
        guard buffer.count > 0 else { return }
        var position = 0
        // Head, up to the next word boundary.
        while position < buffer.count && (offset + Int64(position)) % 8 != 0 {
            buffer[position] = byte(at: offset + Int64(position))
            position += 1
        }
        // Whole words.
        var index = UInt64(offset + Int64(position)) / 8
        while position + 8 <= buffer.count {
            buffer.storeBytes(of: word(index).littleEndian, toByteOffset: position, as: UInt64.self)
            position += 8
            index += 1
        }
        // Tail.
        while position < buffer.count {
            buffer[position] = byte(at: offset + Int64(position))
            position += 1
        }
    }

    /// The first offset in `buffer` (which holds the bytes from `offset`) that differs from the
    /// pattern, or nil if all match.
    public func firstMismatch(in buffer: UnsafeRawBufferPointer, at offset: Int64) -> Int64? {
        let chunk = 64 * 1024
        let expected = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { expected.deallocate() }
        var position = 0
        while position < buffer.count {
            let count = min(chunk, buffer.count - position)
            let window = UnsafeMutableRawBufferPointer(rebasing: expected[0..<count])
            fill(window, at: offset + Int64(position))
            if memcmp(window.baseAddress!, buffer.baseAddress! + position, count) != 0 {
                for i in 0..<count where window[i] != buffer[position + i] {
                    return offset + Int64(position + i)
                }
            }
            position += count
        }
        return nil
    }
}

@inline(__always)
private func memcmp(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Int32 {
    // A word-wise compare: the bytes are equal in the common case, so this returns quickly.
    var i = 0
    while i + 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return 1 }
        i += 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return 1 }
        i += 1
    }
    return 0
}
