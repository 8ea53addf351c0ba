import OverlayCore
import OverlaySuite
import Testing

@Suite struct SHA256HasherTests {
    /// FIPS 180-4 examples and NIST's long-message vector.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(_ input: String, _ digest: String) {
        #expect(SHA256Hasher.hex(Array(input.utf8)) == digest)
    }

    @Test func aMillionAs() {
        #expect(SHA256Hasher.hex([UInt8](repeating: 0x61, count: 1_000_000)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding in pieces of every size gives the digest of the whole.
    @Test func streamingMatchesOneShot() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for piece in [1, 3, 63, 64, 65, 200] {
            var hasher = SHA256Hasher()
            var index = 0
            while index < bytes.count {
                let end = min(bytes.count, index + piece)
                hasher.update(bytes[index..<end])
                index = end
            }
            #expect(SHA256Hasher.hexString(hasher.finalize()) == SHA256Hasher.hex(bytes), "pieces of \(piece)")
        }
    }
}

@Suite struct ReplayTraceTests {
    @Test func everyOperationRoundTripsThroughItsLine() throws {
        let operations: [ReplayOperation] = [
            .open(path: "a", flags: ["write", "create", "excl"], mode: 0o600),
            .write(path: "a", offset: 5, length: 10, byte: 65), .read(path: "a", offset: 0, length: 4),
            .truncate(path: "a", size: 3), .unlink(path: "a"), .rmdir(path: "d"), .stat(path: "d"), .readdir(path: "."),
            .mkdir(path: "d", mode: 0o755), .chmod(path: "d", mode: 0o4755), .chown(path: "d", uid: 1, gid: 2),
            .utimes(path: "d", atime: 1, mtime: 2), .rename(from: "a", to: "b"), .link(from: "a", to: "c"),
            .symlink(target: "/x \"y\"", path: "s"), .setxattr(path: "a", name: "user.x", value: ""),
            .removexattr(path: "a", name: "user.x"),
        ]
        let text = operations.map(\.jsonLine).joined(separator: "\n")
        #expect(try ReplayTrace.parse(text) == operations)
    }

    @Test(arguments: [
        ("{\"op\":\"write\",\"path\":\"a\",\"offset\":0,\"length\":1}", "byte"),
        ("{\"op\":\"open\",\"path\":\"a\",\"flags\":[\"sync\"]}", "flags"),
        ("{\"op\":\"mkdir\",\"path\":\"a\",\"mode\":\"9\"}", "mode"),
        ("{\"op\":\"frobnicate\"}", "op"),
        ("{\"path\":\"a\"}", "op"),
        ("not json", "(line)"),
        ("{\"op\":\"stat\",\"path\":7}", "path"),
    ])
    func malformedLinesNameTheLineAndField(_ line: String, _ field: String) {
        let text = "{\"op\":\"stat\",\"path\":\"a\"}\n\n" + line
        do {
            _ = try ReplayTrace.parse(text)
            Issue.record("parsed a malformed line")
        } catch {
            #expect(error.line == 3)
            #expect(error.field == field)
        }
    }
}
