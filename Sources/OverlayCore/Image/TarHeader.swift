import OverlaySystem

/// A 512-byte tar header block (POSIX ustar, GNU and old v7), decoded field by field, and the
/// PAX and GNU long-name records that modify the member after it.
///
/// Only what layer tars use is accepted: the file kinds overlay can hold, PAX (`x`) records,
/// GNU long names (`L`, `K`). GNU sparse members, multi-volume parts and the like are refused
/// as malformed rather than unpacked wrongly.
struct TarHeader {
    static let blockSize = 512

    var name: String
    var typeflag: UInt8
    var mode: UInt32
    var uid: Int64
    var gid: Int64
    var size: Int64
    var modificationTime: Int64
    var linkName: String
    var deviceMajor: Int64
    var deviceMinor: Int64

    /// nil for an all-zero block (the end of the archive).
    static func parse(_ block: UnsafeRawBufferPointer, context: String) throws -> TarHeader? {
        precondition(block.count == blockSize)
        if block.allSatisfy({ $0 == 0 }) { return nil }
        let stored = try number(block, 148, 8, "checksum", context)
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in block.enumerated() {
            let value = (148..<156).contains(index) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || stored == signed else {
            throw ImageError(.malformed, "\(context): not a tar header (checksum \(stored), computed \(unsigned))")
        }
        let isUstar = bytes(block, 257, 6) == Array("ustar\0".utf8)
        var name = try text(block, 0, 100, context)
        if isUstar {
            let prefix = try text(block, 345, 155, context)
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        return TarHeader(
            name: name,
            typeflag: block[156],
            mode: UInt32(truncatingIfNeeded: try number(block, 100, 8, "mode", context)),
            uid: try number(block, 108, 8, "uid", context),
            gid: try number(block, 116, 8, "gid", context),
            size: try number(block, 124, 12, "size", context),
            modificationTime: try number(block, 136, 12, "mtime", context),
            linkName: try text(block, 157, 100, context),
            deviceMajor: try number(block, 329, 8, "devmajor", context),
            deviceMinor: try number(block, 337, 8, "devminor", context))
    }

    /// The bytes of a field up to its first NUL.
    private static func bytes(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int) -> [UInt8] {
        Array(block[offset..<(offset + length)])
    }

    private static func text(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int, _ context: String) throws -> String {
        let field = block[offset..<(offset + length)]
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return try utf8(Array(field[offset..<end]), context)
    }

    static func utf8(_ bytes: [UInt8], _ context: String) throws -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw ImageError(.malformed, "\(context): a name is not UTF-8")
        }
        return string
    }

    /// An octal field (NUL- or space-terminated, possibly padded), or GNU's base-256 form, whose
    /// first byte has its high bit set.
    private static func number(_ block: UnsafeRawBufferPointer, _ offset: Int, _ length: Int, _ field: String, _ context: String) throws -> Int64 {
        let first = block[offset]
        if first & 0x80 != 0 {
            // Base-256, big-endian, two's complement; 0xff marks a negative number.
            var value: Int64 = first == 0xff ? -1 : Int64(first & 0x7f)
            for index in (offset + 1)..<(offset + length) {
                guard value >> 55 == 0 || value >> 55 == -1 else {
                    throw ImageError(.malformed, "\(context): tar \(field) field overflows")
                }
                value = value << 8 | Int64(block[index])
            }
            return value
        }
        var value: Int64 = 0
        var index = offset
        let end = offset + length
        while index < end && (block[index] == 0x20 || block[index] == 0) { index += 1 }
        while index < end, block[index] >= 0x30 && block[index] <= 0x37 {
            guard value >> 60 == 0 else { throw ImageError(.malformed, "\(context): tar \(field) field overflows") }
            value = value << 3 | Int64(block[index] - 0x30)
            index += 1
        }
        while index < end {
            guard block[index] == 0x20 || block[index] == 0 else {
                throw ImageError(.malformed, "\(context): tar \(field) field is not octal")
            }
            index += 1
        }
        return value
    }

    /// Whether this header's data is part of the member (only regular files carry data; the size
    /// of a link, directory, device or fifo header is ignored, as Go's archive/tar does).
    var carriesData: Bool { typeflag == 0x30 || typeflag == 0 || typeflag == 0x37 }

    /// Data blocks after the header, padding included.
    static func paddedSize(_ size: Int64) -> Int64 { (size + 511) / 512 * 512 }
}

/// PAX extended-header records (`x` members, POSIX.1-2001 `pax` "extended header"):
/// `"<length> <key>=<value>\n"`, where the value may hold any bytes (xattr values do).
struct PAXRecords {
    var records: [(key: String, value: [UInt8])] = []

    init() {}

    init(parsing data: [UInt8], context: String) throws {
        var index = 0
        while index < data.count {
            if data[index] == 0 { break }  // some writers pad the record block with NULs
            var length = 0
            var cursor = index
            while cursor < data.count, data[cursor] >= 0x30 && data[cursor] <= 0x39 {
                length = length * 10 + Int(data[cursor] - 0x30)
                guard length <= data.count else { throw ImageError(.malformed, "\(context): bad PAX record length") }
                cursor += 1
            }
            guard cursor < data.count, data[cursor] == 0x20, length > cursor - index + 1, index + length <= data.count,
                  data[index + length - 1] == 0x0a else {
                throw ImageError(.malformed, "\(context): malformed PAX record")
            }
            let record = data[(cursor + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: 0x3d) else { throw ImageError(.malformed, "\(context): PAX record without '='") }
            let key = try TarHeader.utf8(Array(record[record.startIndex..<equals]), context)
            records.append((key, Array(record[(equals + 1)...])))
            index += length
        }
    }

    subscript(key: String) -> [UInt8]? { records.last { $0.key == key }?.value }

    func string(_ key: String, _ context: String) throws -> String? {
        try self[key].map { try TarHeader.utf8($0, context) }
    }

    func integer(_ key: String, _ context: String) throws -> Int64? {
        guard let text = try string(key, context) else { return nil }
        guard let value = Int64(text) else { throw ImageError(.malformed, "\(context): PAX \(key) is not an integer: \(text)") }
        return value
    }

    /// A PAX time: decimal seconds with an optional fraction (`1700000000.123456789`).
    func time(_ key: String, _ context: String) throws -> Timestamp? {
        guard let text = try string(key, context) else { return nil }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let seconds = Int64(parts[0]) else { throw ImageError(.malformed, "\(context): PAX \(key) is not a time: \(text)") }
        var nanoseconds: UInt32 = 0
        if parts.count == 2 {
            let digits = parts[1].prefix(9)
            guard digits.allSatisfy(\.isNumber), let fraction = UInt32(digits.isEmpty ? "0" : String(digits)) else {
                throw ImageError(.malformed, "\(context): PAX \(key) is not a time: \(text)")
            }
            nanoseconds = fraction * UInt32([1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000][9 - digits.count])
        }
        // A negative fractional time counts down from the whole second.
        if seconds < 0 && nanoseconds > 0 { return Timestamp(seconds: seconds - 1, nanoseconds: 1_000_000_000 - nanoseconds) }
        return Timestamp(seconds: seconds, nanoseconds: nanoseconds)
    }
}
