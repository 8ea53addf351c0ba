import OverlayCore
import OverlaySystem

/// Checks that a copy-up really happened: the upper layer holds a regular file of the right size
/// whose bytes match the generated content (zeros in a sparse file's holes and past the lower
/// file's end), except the bytes the probe wrote. Under `metacopy=on` a metadata-only change may
/// leave an upper with no data of its own, marked `trusted.overlay.metacopy`; that is accepted
/// only where the expectation allows it.
struct CopyUpVerifier {
    /// What the probe writes at offset 0; the pattern's byte there is compared against it.
    static let writtenByte: UInt8 = 0xA5
    /// The metacopy mark, in the trusted and the `userxattr` namespace.
    static let metacopyAttributes = ["trusted.overlay.metacopy", "user.overlay.metacopy"]

    /// What the upper file must hold after one trigger.
    struct Expectation {
        /// Where the file is in upper (a rename or link moves it).
        var upperName: String
        /// The lower file whose ``ContentPattern`` the data follows.
        var lowerName: String
        var lowerSize: Int64
        /// The upper file's size.
        var size: Int64
        /// Bytes the probe wrote, by offset.
        var written: [Int64: UInt8] = [:]
        var sparse = false
        /// Whether a metadata-only (metacopy) upper is a correct outcome.
        var allowMetacopy = false
    }

    enum Outcome: String {
        case full, metacopy
    }

    /// Upper holds `path` with `written` (or nothing) at byte 0 over a full copy of the lower file.
    func verifyCopiedUp(stack: LayerStack, view: any MergedView, path: String, lowerSize: Int64, written: Bool) throws {
        var expectation = Expectation(upperName: path, lowerName: path, lowerSize: lowerSize,
                                      size: written ? max(lowerSize, 1) : lowerSize)
        if written { expectation.written[0] = Self.writtenByte }
        try verify(expectation, stack: stack, view: view)
    }

    @discardableResult
    func verify(_ expected: Expectation, stack: LayerStack, view: any MergedView) throws -> Outcome {
        let upper = view.upperPath + "/" + expected.upperName
        guard let status = try? FileDescriptor.currentWorkingDirectory.status(of: upper) else {
            throw ProbeError.verificationFailed("\(expected.lowerName) was not copied up: \(upper) does not exist")
        }
        guard status.type == .regular else {
            throw ProbeError.verificationFailed("\(upper) is a \(status.type), not a regular file")
        }
        guard status.size == expected.size else {
            throw ProbeError.verificationFailed("\(upper) has \(status.size) bytes; the copy-up should hold \(expected.size)")
        }
        if Self.isMetacopy(upper) {
            guard expected.allowMetacopy else {
                throw ProbeError.verificationFailed("\(upper) is a metacopy, but this operation needs the data in upper")
            }
            return .metacopy
        }
        let pattern = stack.pattern(for: expected.lowerName)
        let fd = try FileDescriptor.open(upper, .readOnly)
        defer { fd.closeIgnoringErrors() }
        let chunk = Int(FileSpec.sparseChunk)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        let wanted = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { wanted.deallocate() }
        let holes = FileSpec(path: expected.lowerName, size: expected.lowerSize, layer: 0, sparse: expected.sparse)
        var offset: Int64 = 0
        while offset < expected.size {
            let n = try fd.preadFully(into: buffer, at: offset)
            guard n > 0 else { throw ProbeError.verificationFailed("\(upper) ended at \(offset) of \(expected.size) bytes") }
            // The bytes that belong here: the pattern up to the lower file's end, zeros in holes
            // and beyond it, then what the probe wrote.
            let dataEnd = Int(max(0, min(Int64(n), expected.lowerSize - offset)))
            wanted.initializeMemory(as: UInt8.self, repeating: 0)
            if dataEnd > 0 && !holes.isHole(at: offset) {
                pattern.fill(UnsafeMutableRawBufferPointer(rebasing: wanted[0..<dataEnd]), at: offset)
            }
            for (at, byte) in expected.written where at >= offset && at < offset + Int64(n) {
                wanted[Int(at - offset)] = byte
            }
            if !Self.equal(buffer, wanted, count: n), let bad = (0..<n).first(where: { buffer[$0] != wanted[$0] }) {
                throw ProbeError.verificationFailed("\(upper) byte \(offset + Int64(bad)) is \(buffer[bad]), expected \(wanted[bad])")
            }
            offset += Int64(n)
        }
        return .full
    }

    /// The first `count` bytes of `a` and `b` match, compared a word at a time (at any alignment).
    static func equal(_ a: UnsafeMutableRawBufferPointer, _ b: UnsafeMutableRawBufferPointer, count: Int) -> Bool {
        var i = 0
        while i + 8 <= count {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < count {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// Whether `path` (an upper file) carries the metacopy mark.
    static func isMetacopy(_ path: String) -> Bool {
        metacopyAttributes.contains { (try? ExtendedAttributes.get($0, path: path)) != nil }
    }
}
