import OverlaySystem

/// Reads a layer tar member by member from a stream. After ``next()`` returns a regular file,
/// its data is read with ``readData(_:)``; whatever is left unread is skipped by the next call.
final class TarReader {
    private let input: BufferedReader
    /// Names the blob in errors.
    let context: String
    private var remaining: Int64 = 0
    private var padding: Int64 = 0
    private var ended = false
    private var entryName = ""

    init(_ input: BufferedReader, context: String) {
        self.input = input
        self.context = context
    }

    /// The next member, or nil after the end-of-archive block (or a clean end of the stream
    /// between members, which Go's archive/tar also accepts).
    func next() throws -> TarEntry? {
        if ended { return nil }
        try skip(remaining + padding)
        remaining = 0
        padding = 0
        var pax = PAXRecords()
        var longName: String?
        var longLink: String?
        while true {
            guard try input.fill(TarHeader.blockSize) else {
                let partial = try input.fill(1)
                if !partial {
                    ended = true
                    return nil
                }
                throw ImageError(.malformed, "\(context): truncated tar: the stream ends inside a header")
            }
            let where_ = "\(context) at byte \(input.offset)"
            guard let header = try TarHeader.parse(input.take(TarHeader.blockSize), context: where_) else {
                ended = true
                return nil
            }
            switch header.typeflag {
            case UInt8(ascii: "x"):
                pax = try PAXRecords(parsing: try metadata(header.size, where_), context: where_)
                continue
            case UInt8(ascii: "g"):
                // Global records: containerd ignores them, and so does this.
                _ = try metadata(header.size, where_)
                continue
            case UInt8(ascii: "L"):
                longName = try nulTerminated(try metadata(header.size, where_), where_)
                continue
            case UInt8(ascii: "K"):
                longLink = try nulTerminated(try metadata(header.size, where_), where_)
                continue
            case UInt8(ascii: "V"):
                try skip(TarHeader.paddedSize(header.size))
                continue
            default:
                break
            }
            let entry = try makeEntry(header, pax: pax, longName: longName, longLink: longLink, where_)
            entryName = entry.name
            remaining = entry.size
            padding = TarHeader.paddedSize(entry.size) - entry.size
            return entry
        }
    }

    /// Hands the current member's data to `body` in chunks, in order.
    func readData(_ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        while remaining > 0 {
            let chunk = try input.chunk(upTo: Int(min(remaining, Int64(Int.max))))
            if chunk.isEmpty { throw ImageError(.malformed, "\(context): truncated tar: the stream ends inside \(entryName)") }
            remaining -= Int64(chunk.count)
            try body(chunk)
        }
    }

    /// Reads what follows the end of the archive (the zero blocks, padding to a record), so a
    /// digest of the whole stream can be checked.
    func drain() throws {
        try input.drain()
    }

    private func skip(_ count: Int64) throws {
        var left = count
        while left > 0 {
            let chunk = try input.chunk(upTo: Int(min(left, Int64(imageChunkSize))))
            if chunk.isEmpty { throw ImageError(.malformed, "\(context): truncated tar: the stream ends inside \(entryName)") }
            left -= Int64(chunk.count)
        }
    }

    /// The data of a metadata member (PAX records, a GNU long name): at most 16 MiB.
    private func metadata(_ size: Int64, _ where_: String) throws -> [UInt8] {
        guard size >= 0 && size <= 16 << 20 else { throw ImageError(.malformed, "\(where_): tar metadata member of \(size) bytes") }
        var data = [UInt8]()
        data.reserveCapacity(Int(size))
        remaining = size
        try readData { data.append(contentsOf: $0) }
        try skip(TarHeader.paddedSize(size) - size)
        return data
    }

    private func nulTerminated(_ data: [UInt8], _ where_: String) throws -> String {
        try TarHeader.utf8(Array(data.prefix { $0 != 0 }), where_)
    }

    private func makeEntry(_ header: TarHeader, pax: PAXRecords, longName: String?, longLink: String?, _ where_: String) throws -> TarEntry {
        let kind: TarEntry.Kind
        switch header.typeflag {
        case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .regular
        case UInt8(ascii: "1"): kind = .hardLink
        case UInt8(ascii: "2"): kind = .symlink
        case UInt8(ascii: "3"): kind = .characterDevice
        case UInt8(ascii: "4"): kind = .blockDevice
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case let flag:
            throw ImageError(.malformed, "\(where_): unsupported tar member type '\(Unicode.Scalar(flag))' (\(header.name))")
        }
        if pax.records.contains(where: { $0.key.hasPrefix("GNU.sparse.") }) {
            throw ImageError(.malformed, "\(where_): GNU sparse members are not supported (\(header.name))")
        }
        let name = try pax.string("path", where_) ?? longName ?? header.name
        let size = kind == .regular ? (try pax.integer("size", where_) ?? header.size) : 0
        guard size >= 0 else { throw ImageError(.malformed, "\(where_): negative size for \(name)") }
        func id(_ key: String, _ value: Int64) throws -> UInt32 {
            let id = try pax.integer(key, where_) ?? value
            guard let fits = UInt32(exactly: id) else { throw ImageError(.malformed, "\(where_): \(key) \(id) of \(name) is out of range") }
            return fits
        }
        var xattrs: [(name: String, value: [UInt8])] = []
        for record in pax.records where record.key.hasPrefix("SCHILY.xattr.") {
            xattrs.append((String(record.key.dropFirst("SCHILY.xattr.".count)), record.value))
        }
        let modification = try pax.time("mtime", where_) ?? Timestamp(seconds: header.modificationTime)
        return TarEntry(
            name: name, kind: kind, mode: header.mode & 0o7777,
            uid: try id("uid", header.uid), gid: try id("gid", header.gid), size: size,
            modificationTime: modification, accessTime: try pax.time("atime", where_),
            linkName: try pax.string("linkpath", where_) ?? longLink ?? header.linkName,
            deviceMajor: try id("SCHILY.devmajor", header.deviceMajor), deviceMinor: try id("SCHILY.devminor", header.deviceMinor),
            xattrs: xattrs)
    }
}
