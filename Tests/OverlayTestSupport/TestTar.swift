internal import CCompression
import Foundation

/// One member of a tar that a test writes by hand, so a layer can hold anything: whiteouts,
/// xattrs, devices, and names no archiver would write (`../x`, `/abs`).
public struct TestTarMember: Sendable {
    public enum Kind: Sendable {
        case file([UInt8])
        case directory
        case symlink(String)
        case hardLink(String)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
        case fifo
    }

    public var name: String
    public var kind: Kind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var modificationTime: Int64
    public var xattrs: [(String, [UInt8])]

    public init(_ name: String, _ kind: Kind, mode: UInt32? = nil, uid: UInt32 = 0, gid: UInt32 = 0,
                modificationTime: Int64 = 1_700_000_000, xattrs: [(String, [UInt8])] = []) {
        self.name = name
        self.kind = kind
        switch kind {
        case .directory: self.mode = mode ?? 0o755
        case .symlink: self.mode = mode ?? 0o777
        default: self.mode = mode ?? 0o644
        }
        self.uid = uid
        self.gid = gid
        self.modificationTime = modificationTime
        self.xattrs = xattrs
    }

    public static func file(_ name: String, _ text: String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0,
                            xattrs: [(String, [UInt8])] = []) -> TestTarMember {
        TestTarMember(name, .file(Array(text.utf8)), mode: mode, uid: uid, gid: gid, xattrs: xattrs)
    }
    public static func directory(_ name: String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0,
                                 xattrs: [(String, [UInt8])] = []) -> TestTarMember {
        TestTarMember(name, .directory, mode: mode, uid: uid, gid: gid, xattrs: xattrs)
    }
    public static func symlink(_ name: String, to target: String) -> TestTarMember { TestTarMember(name, .symlink(target)) }
    /// Archivers write a hard link's header with its target's mode and owner; containerd applies
    /// them to the (shared) inode, umoci does not, so give the target's.
    public static func hardLink(_ name: String, to target: String, mode: UInt32 = 0o644) -> TestTarMember {
        TestTarMember(name, .hardLink(target), mode: mode)
    }
    public static func whiteout(_ name: String) -> TestTarMember {
        let slash = name.lastIndex(of: "/")
        let directory = slash.map { String(name[...$0]) } ?? ""
        let base = slash.map { String(name[name.index(after: $0)...]) } ?? name
        return .file(directory + ".wh." + base, "")
    }
    public static func opaque(_ directory: String) -> TestTarMember { .file(directory + "/.wh..wh..opq", "") }
}

/// Writes POSIX tar archives (ustar headers, PAX records for long names and xattrs).
public enum TestTar {
    public static func archive(_ members: [TestTarMember]) -> [UInt8] {
        var out: [UInt8] = []
        for member in members { append(member, to: &out) }
        out += [UInt8](repeating: 0, count: 1024)
        return out
    }

    static func append(_ member: TestTarMember, to out: inout [UInt8]) {
        var data: [UInt8] = []
        var type: UInt8 = UInt8(ascii: "0")
        var link = ""
        var major: UInt32 = 0
        var minor: UInt32 = 0
        switch member.kind {
        case .file(let bytes): data = bytes
        case .directory: type = UInt8(ascii: "5")
        case .symlink(let target): type = UInt8(ascii: "2"); link = target
        case .hardLink(let target): type = UInt8(ascii: "1"); link = target
        case .characterDevice(let a, let b): type = UInt8(ascii: "3"); major = a; minor = b
        case .blockDevice(let a, let b): type = UInt8(ascii: "4"); major = a; minor = b
        case .fifo: type = UInt8(ascii: "6")
        }
        var records: [(String, [UInt8])] = []
        if member.name.utf8.count > 99 { records.append(("path", Array(member.name.utf8))) }
        if link.utf8.count > 99 { records.append(("linkpath", Array(link.utf8))) }
        for (name, value) in member.xattrs { records.append(("SCHILY.xattr." + name, value)) }
        if !records.isEmpty {
            var pax: [UInt8] = []
            for (key, value) in records {
                let body = Array(" \(key)=".utf8) + value + [0x0a]
                var length = body.count + 1
                while String(length).utf8.count + body.count != length { length = String(length).utf8.count + body.count }
                pax += Array(String(length).utf8) + body
            }
            out += header(name: "PaxHeaders/" + String(member.name.suffix(80)), type: UInt8(ascii: "x"), size: pax.count,
                          mode: 0o644, uid: 0, gid: 0, mtime: member.modificationTime, link: "", major: 0, minor: 0)
            out += pad(pax)
        }
        out += header(name: String(member.name.utf8.prefix(99))!, type: type, size: data.count, mode: member.mode,
                      uid: member.uid, gid: member.gid, mtime: member.modificationTime, link: String(link.utf8.prefix(99))!,
                      major: major, minor: minor)
        out += pad(data)
    }

    public static func pad(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }

    public static func header(name: String, type: UInt8, size: Int, mode: UInt32, uid: UInt32, gid: UInt32, mtime: Int64,
                       link: String, major: UInt32, minor: UInt32) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ offset: Int, _ bytes: [UInt8]) { for (i, b) in bytes.enumerated() { block[offset + i] = b } }
        func octal(_ offset: Int, _ length: Int, _ value: Int64) {
            let digits = String(value, radix: 8)
            put(offset, Array((String(repeating: "0", count: max(0, length - 1 - digits.count)) + digits).utf8) + [0])
        }
        put(0, Array(name.utf8))
        octal(100, 8, Int64(mode))
        octal(108, 8, Int64(uid))
        octal(116, 8, Int64(gid))
        octal(124, 12, Int64(size))
        octal(136, 12, mtime)
        put(148, Array("        ".utf8))
        block[156] = type
        put(157, Array(link.utf8))
        put(257, Array("ustar\0".utf8))
        put(263, Array("00".utf8))
        octal(329, 8, Int64(major))
        octal(337, 8, Int64(minor))
        let sum = block.reduce(0) { $0 + Int64($1) }
        let digits = String(sum, radix: 8)
        put(148, Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 0x20])
        return block
    }
}

/// Compresses test layers with zlib and libzstd.
public enum TestCompression {
    public static func gzip(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(cc_deflate_init_gzip(&stream, 6) == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        var input = bytes
        let written = input.withUnsafeMutableBufferPointer { source in
            output.withUnsafeMutableBufferPointer { destination -> Int in
                stream.next_in = source.baseAddress
                stream.avail_in = uInt(source.count)
                stream.next_out = destination.baseAddress
                stream.avail_out = uInt(destination.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return destination.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<written])
    }

    public static func zstd(_ bytes: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = output.withUnsafeMutableBytes { destination in
            bytes.withUnsafeBytes { source in
                ZSTD_compress(destination.baseAddress, destination.count, source.baseAddress, source.count, 3)
            }
        }
        precondition(ZSTD_isError(written) == 0)
        return Array(output[..<written])
    }
}
