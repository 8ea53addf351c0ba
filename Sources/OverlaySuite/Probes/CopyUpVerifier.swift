import OverlayCore
import OverlaySystem

/// Checks that a copy-up really happened: the upper layer holds a regular file of the right size
/// whose bytes match the generated content, except the byte the probe wrote.
struct CopyUpVerifier {
    /// What the probe writes at offset 0; the pattern's byte there is compared against it.
    static let writtenByte: UInt8 = 0xA5

    func verifyCopiedUp(stack: LayerStack, view: any MergedView, path: String, lowerSize: Int64, written: Bool) throws {
        let upper = view.upperPath + "/" + path
        guard let status = try? FileDescriptor.currentWorkingDirectory.status(of: upper) else {
            throw ProbeError.verificationFailed("\(path) was not copied up: \(upper) does not exist")
        }
        guard status.type == .regular else {
            throw ProbeError.verificationFailed("\(upper) is a \(status.type), not a regular file")
        }
        let expectedSize = written ? max(lowerSize, 1) : lowerSize
        guard status.size == expectedSize else {
            throw ProbeError.verificationFailed("\(upper) has \(status.size) bytes; the copy-up should hold \(expectedSize)")
        }
        let pattern = stack.pattern(for: path)
        let fd = try FileDescriptor.open(upper, .readOnly)
        defer { fd.closeIgnoringErrors() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while offset < expectedSize {
            let n = try fd.preadFully(into: buffer, at: offset)
            guard n > 0 else { throw ProbeError.verificationFailed("\(upper) ended at \(offset) of \(expectedSize) bytes") }
            var chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            if offset == 0 && written {
                guard buffer[0] == Self.writtenByte else {
                    throw ProbeError.verificationFailed("\(upper) byte 0 is \(buffer[0]), the probe wrote \(Self.writtenByte)")
                }
                chunk = UnsafeRawBufferPointer(rebasing: buffer[1..<n])
                if let bad = pattern.firstMismatch(in: chunk, at: 1) {
                    throw ProbeError.verificationFailed("\(upper) differs from the lower file at byte \(bad)")
                }
            } else if let bad = pattern.firstMismatch(in: chunk, at: offset) {
                throw ProbeError.verificationFailed("\(upper) differs from the lower file at byte \(bad)")
            }
            offset += Int64(n)
        }
    }
}
