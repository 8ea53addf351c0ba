import Foundation
@testable import OverlayCore
import OverlaySystem
import OverlayTestSupport
import PropertyBased
import Testing

@Suite("Sizes")
struct ByteCountTests {
    @Test("units parse", arguments: [
        ("0", Int64(0)), ("4096", 4096), ("4KiB", 4096), ("1MiB", 1 << 20), ("1GiB", 1 << 30),
        ("64M", 64 << 20), ("1.5MiB", 1_572_864), ("10MB", 10_000_000), (" 2KiB ", 2048),
    ])
    func parse(text: String, bytes: Int64) throws {
        #expect(try ByteCount.parse(text) == bytes)
    }

    @Test("bad sizes give a message naming the text", arguments: ["", "abc", "4XiB", "-1", "1.2345B", "99999999999TiB", "KiB", "1e3"])
    func rejects(text: String) {
        #expect(throws: ByteCountError.self) { try ByteCount.parse(text) }
    }

    @Test("format is exact where it divides")
    func format() {
        #expect(ByteCount.format(0) == "0B")
        #expect(ByteCount.format(4096) == "4KiB")
        #expect(ByteCount.format(256 << 20) == "256MiB")
        #expect(ByteCount.format(1_572_864) == "1.5MiB")
    }

    @Test("the size parser never crashes and round-trips what it formats")
    func fuzz() async {
        await propertyCheck(count: 500, input: Gen<Int64>.int64(in: 0...(Int64(1) << 50))) { value in
            let text = ByteCount.format(value)
            if let parsed = try? ByteCount.parse(text), text.hasSuffix("B"), !text.contains(".") {
                #expect(parsed == value)
            }
        }
        await propertyCheck(count: 500, input: Gen<Character>.ascii.string(of: 0...12)) { text in
            _ = try? ByteCount.parse(text)
        }
    }
}

@Suite("Content pattern")
struct ContentPatternTests {
    @Test("fill agrees with byte(at:) at every alignment")
    func fillMatchesByte() {
        let pattern = ContentPattern(seed: 42, path: "a/b")
        for offset in [Int64(0), 1, 7, 8, 13, 4095] {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 37, alignment: 8)
            defer { buffer.deallocate() }
            pattern.fill(buffer, at: offset)
            for i in 0..<37 { #expect(buffer[i] == pattern.byte(at: offset + Int64(i))) }
            #expect(pattern.firstMismatch(in: UnsafeRawBufferPointer(buffer), at: offset) == nil)
            buffer[20] ^= 1
            #expect(pattern.firstMismatch(in: UnsafeRawBufferPointer(buffer), at: offset) == offset + 20)
        }
    }

    @Test("content depends on seed and path, and is stable")
    func determinism() {
        let a = ContentPattern(seed: 1, path: "x")
        #expect(a == ContentPattern(seed: 1, path: "x"))
        #expect(a.byte(at: 0) != ContentPattern(seed: 2, path: "x").byte(at: 0) || a.byte(at: 1) != ContentPattern(seed: 2, path: "x").byte(at: 1))
    }
}

@Suite("Layer stack generator")
struct LayerStackTests {
    func listing(_ root: String) throws -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: root)!
        var lines: [String] = []
        while let path = enumerator.nextObject() as? String {
            let full = root + "/" + path
            let status = try FileDescriptor.currentWorkingDirectory.status(of: full)
            var line = "\(path) \(status.type.rawValue) \(String(status.permissions, radix: 8)) \(status.size)"
            if status.type == .symlink { line += " -> " + (try FileDescriptor.currentWorkingDirectory.readSymlink(full)) }
            if status.type == .regular { line += " " + (try Data(contentsOf: URL(fileURLWithPath: full))).base64EncodedString().prefix(64) }
            lines.append(line)
        }
        return lines.sorted()
    }

    let spec = LayerStackSpec(layerCount: 3, seed: 7, files: [
        FileSpec(path: "a/b/c.bin", size: 10_000, layer: 0),
        FileSpec(path: "top.bin", size: 0, layer: 1),
        FileSpec(path: "a/base.bin", size: 1 << 20, layer: 2),
    ])

    @Test("the same seed gives the same tree, in Docker overlay2's layout")
    func deterministic() throws {
        try withTemporaryDirectory { one in
            try withTemporaryDirectory { two in
                let a = try LayerStackBuilder(spec: spec).build(in: one)
                let b = try LayerStackBuilder(spec: spec).build(in: two)
                #expect(try listing(a.root) == listing(b.root))
                #expect(a.lowerLayers.map(\.id) == b.lowerLayers.map(\.id))
                // overlay2: link files, lower files top-first, l/ symlinks, container dirs.
                #expect(try String(contentsOfFile: a.lowerLayers[0].directory + "/link", encoding: .utf8) == a.lowerLayers[0].shortName)
                let lower = try String(contentsOfFile: a.lowerLayers[0].directory + "/lower", encoding: .utf8)
                #expect(lower == "l/\(a.lowerLayers[1].shortName):l/\(a.lowerLayers[2].shortName)")
                #expect(!FileManager.default.fileExists(atPath: a.lowerLayers[2].directory + "/lower"))
                #expect(try FileDescriptor.currentWorkingDirectory.readSymlink(a.root + "/l/" + a.lowerLayers[1].shortName) == "../\(a.lowerLayers[1].id)/diff")
                for dir in [a.upperPath, a.workPath, a.mergedPath] { #expect(FileManager.default.fileExists(atPath: dir)) }
                let data = try Data(contentsOf: URL(fileURLWithPath: a.lowerLayers[2].diff + "/a/base.bin"))
                #expect(data.count == 1 << 20)
                #expect(data[12345] == a.pattern(for: "a/base.bin").byte(at: 12345))
            }
        }
    }

    @Test("a different seed gives different ids and content")
    func seedMatters() throws {
        try withTemporaryDirectory { one in
            try withTemporaryDirectory { two in
                var other = spec
                other.seed = 8
                let a = try LayerStackBuilder(spec: spec).build(in: one)
                let b = try LayerStackBuilder(spec: other).build(in: two)
                #expect(a.lowerLayers[0].id != b.lowerLayers[0].id)
            }
        }
    }

    @Test("invalid specs name the field", arguments: [
        (LayerStackSpec(layerCount: 0, seed: 1), "layers"),
        (LayerStackSpec(layerCount: 501, seed: 1), "layers"),
        (LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "../x", size: 1, layer: 0)]), "path"),
        (LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "/abs", size: 1, layer: 0)]), "path"),
        (LayerStackSpec(layerCount: 2, seed: 1, files: [FileSpec(path: "x", size: 1, layer: 2)]), "layer"),
        (LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "x", size: -1, layer: 0)]), "size"),
    ])
    func invalid(spec: LayerStackSpec, field: String) {
        do {
            try spec.validate()
            Issue.record("accepted an invalid spec")
        } catch {
            #expect("\(error)".contains(field))
        }
    }

    @Test("a run that would not fit is refused before anything is written")
    func insufficientSpace() throws {
        try withTemporaryDirectory { dir in
            let huge = LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "big", size: 1 << 50, layer: 0)])
            #expect(throws: WorkloadError.self) { try LayerStackBuilder(spec: huge).build(in: dir) }
            #expect(!FileManager.default.fileExists(atPath: dir + "/overlay2"))
        }
    }
}

@Suite("Mount options and escaping")
struct MountOptionTests {
    @Test("known options parse; unknown ones and layer dirs are refused")
    func parse() throws {
        #expect(try OverlayMountOptions(parsing: "volatile,metacopy=on").description == "volatile,metacopy=on")
        #expect(try OverlayMountOptions(parsing: "").description == "")
        #expect(try OverlayMountOptions(parsing: "metacopy=on,metacopy=off").description == "metacopy=off")
        for bad in ["bogus", "metacopy", "metacopy=maybe", "volatile=1", "lowerdir=/x", "upperdir=/y"] {
            #expect(throws: OverlayOptionError.self) { try OverlayMountOptions(parsing: bad) }
        }
    }

    @Test("mount(2) data escapes backslash, colon and comma")
    func escape() {
        #expect(KernelMountPlan.escape("/a:b,c\\d e") == "/a\\:b\\,c\\\\d e")
        #expect(KernelMountPlan.escapeBackslashes("/a\\b:c") == "/a\\\\b:c")
    }
}

@Suite("Mount table")
struct MountTableTests {
    @Test("mountinfo lines parse, with octal escapes undone")
    func parse() {
        let text = """
            22 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
            99 22 0:77 / /var/tmp/ob/run\\0401/merged rw,relatime shared:5 - overlay overlay rw,lowerdir=/a\\134\\072b,upperdir=/u,workdir=/w
            """
        let table = MountTable(parsing: text)
        #expect(table.entries.count == 2)
        let overlay = table.entries[1]
        #expect(overlay.mountPoint == "/var/tmp/ob/run 1/merged")
        #expect(overlay.fileSystemType == "overlay")
        #expect(overlay.superOptions.contains("lowerdir=/a\\:b"))
        #expect(table.mounts(under: "/var/tmp/ob").map(\.id) == [99])
        #expect(table.backingMount(of: "/var/tmp/x")?.fileSystemType == "ext4")
    }
}

@Suite("Work root safety")
struct WorkRootTests {
    @Test("refuses /, the home directory, system directories and relative paths", arguments: ["/", "/etc", "/var/tmp", "relative/path", "/usr/"])
    func refuses(path: String) {
        #expect(throws: WorkRootError.self) { try WorkRoot.prepare(path) }
    }

    @Test("refuses a path through a symlink and a non-empty directory it did not create")
    func refusesForeign() throws {
        try withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: dir + "/real", withIntermediateDirectories: false)
            try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir + "/real")
            #expect(throws: WorkRootError.self) { try WorkRoot.prepare(dir + "/link/root") }
            #expect(FileManager.default.createFile(atPath: dir + "/real/precious", contents: Data("keep".utf8)))
            #expect(throws: WorkRootError.self) { try WorkRoot.prepare(dir + "/real") }
            #expect(FileManager.default.fileExists(atPath: dir + "/real/precious"))
            #expect(throws: WorkRootError.self) { try WorkRoot.prepare(dir + "/real\nx") }
        }
    }

    @Test("creates and marks its own root, and deletes only inside it without following symlinks")
    func ownRoot() throws {
        try withTemporaryDirectory { dir in
            let outside = dir + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: outside + "/keep", contents: Data("x".utf8)))
            let root = try WorkRoot.prepare(dir + "/root")
            #expect(FileManager.default.fileExists(atPath: dir + "/root/" + WorkRoot.markerName))
            _ = try WorkRoot.prepare(dir + "/root")  // its own marker: accepted again
            let run = try root.makeRunDirectory()
            try FileManager.default.createSymbolicLink(atPath: run + "/trap", withDestinationPath: outside)
            try FileManager.default.createDirectory(atPath: run + "/d/e", withIntermediateDirectories: true)
            try root.remove(run)
            #expect(!FileManager.default.fileExists(atPath: run))
            #expect(FileManager.default.fileExists(atPath: outside + "/keep"))
            #expect(throws: WorkRootError.self) { try root.remove(outside) }
        }
    }
}
