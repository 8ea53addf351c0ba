internal import Crypto

/// Streaming SHA-256, the project's one implementation: swift-crypto's (BoringSSL, with its
/// assembly on x86_64 and arm64), so checking the digest of a multi-gigabyte layer while it
/// streams costs little next to decompressing it. Image import checks every blob with it;
/// replay prints the digest of what it read, and tree dumps the digest of every file.
public struct SHA256Hasher: Sendable {
    private var hash = Crypto.SHA256()

    public init() {}

    /// Feeds more bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        hash.update(bufferPointer: bytes)
    }

    /// Feeds more bytes from any collection (copied into contiguous storage when it has none).
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ hash.update(bufferPointer: UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let copy = Array(bytes)
        copy.withUnsafeBytes { hash.update(bufferPointer: $0) }
    }

    /// The 32-byte digest of everything fed so far.
    public func finalize() -> [UInt8] { Array(hash.finalize()) }

    /// The lowercase hex digest of `bytes`.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hexString(hasher.finalize())
    }

    /// Lowercase hex of a digest (or any bytes).
    public static func hexString(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(digest.count * 2)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
