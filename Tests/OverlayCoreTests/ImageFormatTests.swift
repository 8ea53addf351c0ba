import Foundation
@testable import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

/// The pieces import is made of, on constructed input with known answers.
@Suite struct ImageFormatTests {
    final class BytesStream: ByteStream {
        let bytes: [UInt8]
        var offset = 0
        /// Hands out at most this much per read, to cross every boundary.
        let piece: Int
        init(_ bytes: [UInt8], piece: Int = .max) {
            self.bytes = bytes
            self.piece = piece
        }
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
            let n = min(buffer.count, bytes.count - offset, piece)
            bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            offset += n
            return n
        }
    }

    private func readAll(_ stream: any ByteStream) throws -> [UInt8] {
        var out: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 7000, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = try stream.read(into: buffer)
            if n == 0 { return out }
            out += buffer[0..<n]
        }
    }

    private func entries(_ tar: [UInt8], piece: Int = .max) throws -> [(TarEntry, [UInt8])] {
        let reader = TarReader(BufferedReader(BytesStream(tar, piece: piece), capacity: 4096), context: "test")
        var result: [(TarEntry, [UInt8])] = []
        while let entry = try reader.next() {
            var data: [UInt8] = []
            try reader.readData { data += $0 }
            result.append((entry, data))
        }
        return result
    }

    @Test func paxRecordsCarryLongNamesXattrsAndTimes() throws {
        let long = String(repeating: "d/", count: 80) + "file"
        let tar = TestTar.archive([
            TestTarMember(long, .file(Array("body".utf8)), mode: 0o4755, uid: 7, gid: 8, xattrs: [("user.a", [0, 0xff]), ("security.b", Array("v".utf8))]),
            .symlink("s", to: String(repeating: "t", count: 150)),
        ])
        let read = try entries(tar, piece: 100)
        #expect(read.count == 2)
        #expect(read[0].0.name == long && read[0].0.mode == 0o4755 && read[0].0.uid == 7 && read[0].0.gid == 8)
        #expect(read[0].1 == Array("body".utf8))
        #expect(read[0].0.xattrs.map(\.name) == ["user.a", "security.b"] && read[0].0.xattrs[0].value == [0, 0xff])
        #expect(read[1].0.kind == .symlink && read[1].0.linkName.count == 150)
    }

    @Test func gnuLongNamesAndBase256Numbers() throws {
        var tar = TestTar.header(name: "././@LongLink", type: UInt8(ascii: "L"), size: 201, mode: 0, uid: 0, gid: 0, mtime: 0, link: "", major: 0, minor: 0)
        tar += TestTar.pad(Array(String(repeating: "n", count: 200).utf8) + [0])
        var file = TestTar.header(name: "short", type: UInt8(ascii: "0"), size: 3, mode: 0o644, uid: 0, gid: 0, mtime: 0, link: "", major: 0, minor: 0)
        // uid 3000000000 in GNU base-256 (does not fit 7 octal digits).
        let uid: UInt64 = 3_000_000_000
        file[108] = 0x80
        for i in 0..<7 { file[109 + i] = UInt8(truncatingIfNeeded: uid >> (8 * UInt64(6 - i))) }
        file[148..<156] = ArraySlice(Array("        ".utf8))
        let sum = file.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        file[148..<156] = ArraySlice(Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, 0x20])
        tar += file + TestTar.pad(Array("abc".utf8)) + [UInt8](repeating: 0, count: 1024)
        let read = try entries(tar)
        #expect(read.count == 1)
        #expect(read[0].0.name == String(repeating: "n", count: 200))
        #expect(read[0].0.uid == 3_000_000_000)
        #expect(read[0].1 == Array("abc".utf8))
    }

    @Test func aCorruptHeaderAndATruncatedMemberAreMalformed() throws {
        var tar = TestTar.archive([.file("a", String(repeating: "x", count: 2000))])
        var broken = tar
        broken[100] = UInt8(ascii: "9")
        #expect(throws: ImageError.self) { try entries(broken) }
        tar = Array(tar.prefix(512 + 700))
        #expect { try entries(tar) } throws: { ($0 as? ImageError)?.message.contains("truncated") == true }
        #expect(try entries([]).isEmpty)
    }

    @Test func gzipMembersAndZstdFramesConcatenate() throws {
        let one = Array("first part, ".utf8)
        let two = Array(repeating: UInt8(ascii: "z"), count: 300_000)
        let gzip = TestCompression.gzip(one) + TestCompression.gzip(two)
        #expect(try readAll(GzipStream(BytesStream(gzip, piece: 999), name: "g")) == one + two)
        let zstd = TestCompression.zstd(one) + TestCompression.zstd(two)
        #expect(try readAll(ZstdStream(BytesStream(zstd, piece: 999), name: "z")) == one + two)
        #expect(LayerCompression(magic: gzip) == .gzip && LayerCompression(magic: zstd) == .zstd && LayerCompression(magic: one) == .none)
    }

    @Test func truncatedCompressedStreamsAreMalformed() throws {
        let data = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        let gzip = TestCompression.gzip(data)
        let zstd = TestCompression.zstd(data)
        #expect { try readAll(GzipStream(BytesStream(Array(gzip.dropLast(100))), name: "g")) } throws: {
            ($0 as? ImageError)?.message.contains("truncated gzip") == true
        }
        #expect { try readAll(ZstdStream(BytesStream(Array(zstd.dropLast(100))), name: "z")) } throws: {
            ($0 as? ImageError)?.message.contains("truncated zstd") == true
        }
    }

    @Test func aBlobIsCheckedOnTheReadThatEndsIt() throws {
        try withTemporaryDirectory(prefix: "overlaybench-blob") { directory in
            let bytes = Array("0123456789".utf8)
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/blob"))
            let file = try FileDescriptor.open(directory + "/blob", .readOnly)
            defer { file.closeIgnoringErrors() }
            let good = VerifiedBlobStream(name: "b", file: file, offset: 2, length: 5, expected: Digest.of(bytes[2..<7]))
            #expect(try readAll(good) == Array(bytes[2..<7]) && good.verified)
            let bad = VerifiedBlobStream(name: "b", file: file, offset: 0, length: 10, expected: Digest.of(bytes.prefix(9)))
            #expect(throws: ImageError.self) { try readAll(bad) }
            let short = VerifiedBlobStream(name: "b", file: file, offset: 5, length: 10, expected: nil)
            #expect { try readAll(short) } throws: { ($0 as? ImageError)?.message == "b: truncated: 5 of 10 bytes" }
        }
    }

    @Test func namesAreCleanedBeneathTheRoot() {
        #expect(LayerApplier.components("./a//b/./c/").path == ["a", "b", "c"])
        #expect(LayerApplier.components("a/../../b") == (["b"], true))
        #expect(LayerApplier.components("/etc/passwd") == (["etc", "passwd"], true))
        #expect(LayerApplier.components("a/b/..").path == ["a"])
        #expect(LayerApplier.components("./").path.isEmpty)
    }

    @Test func digestsAndReferencesParse() throws {
        #expect(Digest("sha256:" + String(repeating: "a", count: 64)) != nil)
        #expect(Digest("sha256:" + String(repeating: "A", count: 64)) == nil)
        #expect(Digest("sha512:" + String(repeating: "a", count: 128)) == nil)
        #expect(Digest.of(Array("abc".utf8)).hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        try withTemporaryDirectory(prefix: "overlaybench-ref") { directory in
            try Data().write(to: URL(fileURLWithPath: directory + "/a:b.tar"))
            #expect(try ImageReference(parsing: "docker-archive:\(directory)/a:b.tar") == ImageReference(transport: .dockerArchive, path: directory + "/a:b.tar"))
            #expect(try ImageReference(parsing: "docker-archive:\(directory)/a:b.tar:repo/x:v1").tag == "repo/x:v1")
            #expect(try ImageReference(parsing: "oci-archive:\(directory)/a:b.tar:v2") == ImageReference(transport: .ociArchive, path: directory + "/a:b.tar", tag: "v2"))
            #expect(try ImageReference(parsing: "oci:\(directory)").tag == nil)
        }
        #expect { try ImageReference(parsing: "docker:alpine") } throws: { ($0 as? ImageError)?.exitCode == 64 }
    }

    @Test func chainIDsAndShortNamesAreStable() {
        let name = ImageImporter.shortName(String(repeating: "0", count: 64))
        #expect(name.count == 26 && name.allSatisfy { "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".contains($0) })
        #expect(name == ImageImporter.shortName(String(repeating: "0", count: 64)))
        #expect(name != ImageImporter.shortName(String(repeating: "1", count: 64)))
    }
}
