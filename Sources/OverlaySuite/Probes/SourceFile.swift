import OverlayCore
import OverlaySystem

/// Source files for the copy probe: seeded content, optionally with holes, and the checks that a
/// copy is identical (and as sparse as its source).
enum SourceFile {
    static let chunk: Int64 = 1 << 20

    /// Writes `size` bytes of ``ContentPattern``; with `sparse`, about half of the 1 MiB chunks are
    /// holes (chosen by the seed), always including the last so a trailing hole is exercised.
    static func write(path: String, size: Int64, sparse: Bool, seed: UInt64) throws {
        let fd = try FileDescriptor.open(path, [.writeOnly, .create, .truncate], mode: 0o644)
        defer { fd.closeIgnoringErrors() }
        let pattern = ContentPattern(seed: seed, path: "copy/\(size)")
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunk), alignment: 4096)
        defer { buffer.deallocate() }
        var random = SplitMix64(seed: seed ^ UInt64(bitPattern: size))
        var offset: Int64 = 0
        while offset < size {
            let count = Int(min(chunk, size - offset))
            let isLast = offset + Int64(count) >= size
            let hole = sparse && size > chunk && (isLast || random.next() % 2 == 0)
            if !hole {
                let window = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                pattern.fill(window, at: offset)
                try fd.pwriteAll(UnsafeRawBufferPointer(window), at: offset)
            }
            offset += Int64(count)
        }
        try fd.truncate(to: size)
    }

    /// Reads the whole file so its pages are cached.
    static func readThrough(_ path: String) throws {
        let fd = try FileDescriptor.open(path, .readOnly)
        defer { fd.closeIgnoringErrors() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunk), alignment: 4096)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
    }

    /// The copy must have the source's size and bytes; a sparse copy must also allocate within 10%
    /// of the source's blocks.
    static func verifyCopy(source: FileDescriptor, copy: FileDescriptor, size: Int64, sparse: Bool, engine: String) throws {
        let copyStatus = try copy.status()
        guard copyStatus.size == size else {
            throw ProbeError.verificationFailed("\(engine) copied \(copyStatus.size) of \(size) bytes")
        }
        let a = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunk), alignment: 4096)
        let b = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(chunk), alignment: 4096)
        defer { a.deallocate(); b.deallocate() }
        var offset: Int64 = 0
        while offset < size {
            let n = try source.preadFully(into: a, at: offset)
            let m = try copy.preadFully(into: b, at: offset)
            guard n == m, n > 0 else { throw ProbeError.verificationFailed("\(engine): short copy at \(offset)") }
            if !a[0..<n].elementsEqual(b[0..<n]) {
                throw ProbeError.verificationFailed("\(engine): the copy differs from the source in the MiB at \(offset)")
            }
            offset += Int64(n)
        }
        if sparse {
            let sourceBlocks = try source.status().allocatedBytes
            let copyBlocks = copyStatus.allocatedBytes
            if Double(copyBlocks) > Double(sourceBlocks) * 1.1 + 4096 {
                throw ProbeError.verificationFailed("\(engine): the copy allocates \(copyBlocks) bytes, the sparse source \(sourceBlocks): holes were filled")
            }
        }
    }
}
