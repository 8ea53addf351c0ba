import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Testing

// Every engine copies the same source layouts; the destination is compared byte for byte and,
// for sparse sources, by allocated blocks. No test looks at the clock.

/// An engine and the io_uring options it is made with.
struct EngineSetup: CustomStringConvertible, Sendable {
    var kind: CopyEngineKind
    var options = IOURingCopyOptions()
    var label: String?

    var description: String { label.map { "\(kind) (\($0))" } ?? kind.identifier }

    func make() throws -> any CopyEngine { try kind.make(options: options) }

    /// What ``CopyResult/method`` should say on one filesystem.
    var expectedMethod: String { kind == .ioURing && options.fixedBuffers ? "io_uring-fixed" : kind.identifier }

    static let syscallEngines: [EngineSetup] = [
        EngineSetup(kind: .copyFileRange), EngineSetup(kind: .sendfile), EngineSetup(kind: .readWrite),
    ]

    /// The defaults, and small blocks at a small depth so a few MiB take many chunks and waves.
    static let ioURingEngines: [EngineSetup] = [
        EngineSetup(kind: .ioURing),
        EngineSetup(kind: .ioURing, options: .init(queueDepth: 3, blockSize: 64 << 10, asyncReads: false), label: "QD 3, 64 KiB, inline reads"),
        EngineSetup(kind: .ioURing, options: .init(queueDepth: 4, blockSize: 64 << 10, fixedBuffers: true, asyncReads: true),
                    label: "QD 4, 64 KiB, fixed, async"),
        EngineSetup(kind: .ioURingSplice),
        EngineSetup(kind: .ioURingSplice, options: .init(queueDepth: 3, blockSize: 64 << 10), label: "QD 3, 64 KiB"),
    ]
}

/// A source file's shape and the length asked of the engine.
enum SourceLayout: String, CaseIterable, CustomStringConvertible, Sendable {
    /// A 0-byte file.
    case empty
    /// 3 MiB: ends exactly on a block boundary for every block size used here.
    case blockAligned
    /// 2 MiB + 12345 bytes: the last block is partial.
    case unaligned
    /// 1 MiB + 777 bytes, asked for 4 MiB: reads come back short and then empty.
    case shortSource
    /// Asked for 1 MiB + 5 of a 3 MiB file: only that prefix is copied.
    case prefix
    /// 4 MiB with random data runs between holes, and a trailing hole.
    case sparse

    var description: String { rawValue }

    var size: Int64 {
        switch self {
        case .empty: 0
        case .blockAligned, .prefix: 3 << 20
        case .unaligned: (2 << 20) + 12345
        case .shortSource: (1 << 20) + 777
        case .sparse: 4 << 20
        }
    }

    var requestedLength: Int64 {
        switch self {
        case .shortSource: 4 << 20
        case .prefix: (1 << 20) + 5
        default: size
        }
    }

    /// The bytes the destination must hold.
    var expectedLength: Int64 { min(size, requestedLength) }

    var skipHoles: Bool { self == .sparse }
}

/// SplitMix64: a seeded generator, so a failure can be replayed from the seed it prints.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum CopyFixture {
    static let seed: UInt64 = 0x0C0F_FEE5_EED5

    /// Writes `layout` at `path`; sparse layouts get data runs of 4–64 KiB at random 4 KiB-aligned
    /// offsets in the first 3.5 MiB, so the last 512 KiB stay a hole.
    static func makeSource(_ layout: SourceLayout, at path: String, seed: UInt64 = seed) throws {
        var random = SplitMix64(seed: seed)
        let fd = try FileDescriptor.open(path, [.readWrite, .create, .truncate], mode: 0o644)
        defer { fd.closeIgnoringErrors() }
        if layout == .sparse {
            try fd.truncate(to: layout.size)
            for _ in 0..<24 {
                let offset = Int64.random(in: 0..<(7 << 7), using: &random) * 4096
                let count = Int.random(in: 1...16, using: &random) * 4096
                try write(count: count, at: offset, to: fd, using: &random)
            }
        } else if layout.size > 0 {
            try write(count: Int(layout.size), at: 0, to: fd, using: &random)
        }
    }

    private static func write(count: Int, at offset: Int64, to fd: FileDescriptor, using random: inout SplitMix64) throws {
        // Whole words at a time: byte by byte is slow in debug builds.
        var words = [UInt64](repeating: 0, count: (count + 7) / 8)
        for index in words.indices { words[index] = random.next() }
        try words.withUnsafeBytes { try fd.pwriteAll(UnsafeRawBufferPointer(rebasing: $0[..<count]), at: offset) }
    }

    /// Copies `source` to a new `destination` with `engine` and checks bytes, size and blocks.
    @discardableResult
    static func copyAndCheck(
        _ engine: any CopyEngine, layout: SourceLayout, source: String, destination: String,
        fsync: Bool = false, expectedMethods: Set<String>
    ) throws -> CopyResult {
        let input = try FileDescriptor.open(source, .readOnly)
        defer { input.closeIgnoringErrors() }
        let output = try FileDescriptor.open(destination, [.readWrite, .create, .truncate], mode: 0o644)
        defer { output.closeIgnoringErrors() }

        let result = try engine.copy(
            from: input, to: output, length: layout.requestedLength,
            options: CopyOptions(skipHoles: layout.skipHoles, fsync: fsync))

        let comment = Comment(rawValue: "\(engine.identifier), \(layout), seed \(seed)")
        let sourceBytes = try Data(contentsOf: URL(fileURLWithPath: source))
        let copiedBytes = try Data(contentsOf: URL(fileURLWithPath: destination))
        #expect(copiedBytes.count == Int(layout.expectedLength), comment)
        #expect(copiedBytes == sourceBytes.prefix(Int(layout.expectedLength)), comment)
        #expect(expectedMethods.contains(result.method), comment)
        #expect(result.syscalls >= 0, comment)
        if layout.skipHoles {
            let allocatedIn = try input.status().allocatedBytes
            let allocatedOut = try output.status().allocatedBytes
            #expect(abs(allocatedOut - allocatedIn) <= allocatedIn / 10, "allocated \(allocatedOut) vs \(allocatedIn): \(comment)")
            #expect(result.bytesCopied > 0 && result.bytesCopied <= layout.expectedLength, comment)
        } else {
            #expect(result.bytesCopied == layout.expectedLength, comment)
        }
        return result
    }

    /// The type in /proc/self/mounts of the longest mount point that is a prefix of `path`.
    static func fileSystemType(of path: String) throws -> String? {
        var best: (point: String, type: String)?
        for line in try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8).split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2 else { continue }
            let point = fields[1]
            let covers = point == "/" || path == point || path.hasPrefix(point + "/")
            if covers, point.count >= (best?.point.count ?? 0) { best = (point, fields[2]) }
        }
        return best?.type
    }

    /// A fresh directory on tmpfs (`/dev/shm`), removed after `body`.
    static func withTmpfsDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let path = "/dev/shm/overlaybench-test-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    static func check(_ setup: EngineSetup, layout: SourceLayout, fsync: Bool = false) throws {
        try withTemporaryDirectory { directory in
            try makeSource(layout, at: "\(directory)/lower")
            try copyAndCheck(
                try setup.make(), layout: layout, source: "\(directory)/lower", destination: "\(directory)/upper",
                fsync: fsync, expectedMethods: [setup.expectedMethod])
        }
    }

    /// Source on the root filesystem, destination on tmpfs: copy_file_range may refuse the pair.
    static func checkAcrossFilesystems(_ setup: EngineSetup) throws {
        try withTemporaryDirectory { directory in
            try withTmpfsDirectory { tmpfs in
                for layout in [SourceLayout.unaligned, .sparse] {
                    try makeSource(layout, at: "\(directory)/lower")
                    let methods: Set<String> = setup.kind == .copyFileRange ? ["copy_file_range", "sendfile"] : [setup.expectedMethod]
                    try copyAndCheck(
                        try setup.make(), layout: layout, source: "\(directory)/lower", destination: "\(tmpfs)/upper",
                        fsync: true, expectedMethods: methods)
                }
            }
        }
    }

    /// One engine, every layout in turn: state (a ring, pipes, buffers) must carry nothing over.
    /// A caller's status of the source stands in for the engine's own `statx`: the same bytes,
    /// one syscall fewer. (Copy-up passes the lookup's status this way.)
    static func checkKnownStatus(_ setup: EngineSetup) throws {
        let engine = try setup.make()
        try withTemporaryDirectory { directory in
            let layout = SourceLayout.unaligned
            try makeSource(layout, at: "\(directory)/lower")
            let input = try FileDescriptor.open("\(directory)/lower", .readOnly)
            defer { input.closeIgnoringErrors() }
            let status = try input.status()
            var counts: [Int] = []
            for known in [nil, status] {
                let output = try FileDescriptor.open("\(directory)/upper", [.writeOnly, .create, .truncate])
                defer { output.closeIgnoringErrors() }
                let result = try engine.copy(from: input, to: output, length: layout.size,
                                             options: CopyOptions(skipHoles: true, sourceStatus: known))
                #expect(result.bytesCopied == layout.size, "\(setup)")
                counts.append(result.syscalls)
            }
            #expect(counts[1] == counts[0] - 1, "\(setup): syscalls without and with a known status: \(counts)")
        }
    }

    static func checkReuse(_ setup: EngineSetup) throws {
        let engine = try setup.make()
        try withTemporaryDirectory { directory in
            for (index, layout) in (SourceLayout.allCases + SourceLayout.allCases.reversed()).enumerated() {
                try makeSource(layout, at: "\(directory)/lower", seed: seed &+ UInt64(index))
                try copyAndCheck(
                    engine, layout: layout, source: "\(directory)/lower", destination: "\(directory)/upper",
                    fsync: index % 2 == 0, expectedMethods: [setup.expectedMethod])
            }
        }
    }
}

@Suite("CopyEngine: syscall engines")
struct SyscallCopyEngineTests {
    @Test(arguments: SourceLayout.allCases, EngineSetup.syscallEngines)
    func copiesLayout(layout: SourceLayout, setup: EngineSetup) throws {
        try CopyFixture.check(setup, layout: layout)
    }

    @Test(arguments: EngineSetup.syscallEngines)
    func fsyncsAndCopies(setup: EngineSetup) throws {
        try CopyFixture.check(setup, layout: .unaligned, fsync: true)
    }

    @Test(arguments: EngineSetup.syscallEngines)
    func copiesToAnotherFilesystem(setup: EngineSetup) throws {
        try CopyFixture.checkAcrossFilesystems(setup)
    }

    @Test(arguments: EngineSetup.syscallEngines)
    func reusesOneEngine(setup: EngineSetup) throws {
        try CopyFixture.checkReuse(setup)
    }

    @Test(arguments: EngineSetup.syscallEngines)
    func takesAKnownSourceStatus(setup: EngineSetup) throws {
        try CopyFixture.checkKnownStatus(setup)
    }
}

@Suite("CopyEngine: io_uring engines", Gate.ioURing.trait)
struct IOURingCopyEngineTests {
    @Test(arguments: SourceLayout.allCases, EngineSetup.ioURingEngines)
    func copiesLayout(layout: SourceLayout, setup: EngineSetup) throws {
        try Gate.ioURing.require()
        try CopyFixture.check(setup, layout: layout)
    }

    @Test(arguments: EngineSetup.ioURingEngines)
    func fsyncsThroughTheRing(setup: EngineSetup) throws {
        try Gate.ioURing.require()
        try CopyFixture.check(setup, layout: .unaligned, fsync: true)
        try CopyFixture.check(setup, layout: .empty, fsync: true)
    }

    @Test(arguments: EngineSetup.ioURingEngines)
    func copiesToAnotherFilesystem(setup: EngineSetup) throws {
        try Gate.ioURing.require()
        try CopyFixture.checkAcrossFilesystems(setup)
    }

    @Test(arguments: EngineSetup.ioURingEngines)
    func reusesOneRing(setup: EngineSetup) throws {
        try Gate.ioURing.require()
        try CopyFixture.checkReuse(setup)
    }

    @Test(arguments: EngineSetup.ioURingEngines)
    func takesAKnownSourceStatus(setup: EngineSetup) throws {
        try Gate.ioURing.require()
        try CopyFixture.checkKnownStatus(setup)
    }

    /// Waves: one io_uring_enter per queue depth of chunks, the fsync riding in the last one.
    @Test func countsEntersDeterministically() throws {
        try Gate.ioURing.require()
        let engine = try IOURingCopyEngine(options: .init(queueDepth: 4, blockSize: 1 << 20))
        try withTemporaryDirectory { directory in
            try CopyFixture.makeSource(.unaligned, at: "\(directory)/lower")
            let input = try FileDescriptor.open("\(directory)/lower", .readOnly)
            defer { input.closeIgnoringErrors() }
            var counts: [Int] = []
            for _ in 0..<3 {
                let output = try FileDescriptor.open("\(directory)/upper", [.writeOnly, .create, .truncate])
                defer { output.closeIgnoringErrors() }
                counts.append(try engine.copy(from: input, to: output, length: SourceLayout.unaligned.size, options: .init(fsync: true)).syscalls)
            }
            // 3 chunks fit one wave of depth 4, and the fsync joins it.
            #expect(counts == [1, 1, 1])
        }
    }

    /// A known status that leaves no room for holes skips the SEEK_DATA/SEEK_HOLE walk; one
    /// with holes still walks them, so the holes survive the copy.
    @Test func aDenseSourceIsOneExtentWithoutSeeking() throws {
        try withTemporaryDirectory { directory in
            for layout in [SourceLayout.unaligned, .sparse] {
                let path = "\(directory)/\(layout)"
                try CopyFixture.makeSource(layout, at: path)
                let source = try FileDescriptor.open(path, .readOnly)
                defer { source.closeIgnoringErrors() }
                let status = try source.status()
                var extents = try DataExtents(of: source, length: layout.size, options: CopyOptions(skipHoles: true, sourceStatus: status))
                var ranges: [Range<Int64>] = []
                while let extent = try extents.next() { ranges.append(extent) }
                // Every filesystem the tests run on keeps the sparse layout's holes.
                #expect(DataExtents.isDense(status) == (layout == .unaligned), "\(layout): allocated \(status.allocatedBytes) of \(status.size)")
                if DataExtents.isDense(status) {
                    #expect(ranges == [0..<layout.size], "\(layout)")
                    #expect(extents.syscalls == 0, "\(layout)")
                } else {
                    #expect(ranges.count > 1, "\(layout): the holes were not skipped")
                    #expect(extents.syscalls > 0, "\(layout)")
                }
            }
        }
    }

    @Test func rejectsOversizedBuffers() throws {
        #expect(throws: CopyEngineError.self) { try IOURingCopyOptions(queueDepth: 128, blockSize: 1 << 20).validate() }
        #expect(throws: CopyEngineError.self) { try IOURingCopyOptions(queueDepth: 4, blockSize: 1000).validate() }
        #expect(throws: CopyEngineError.self) { try IOURingCopyOptions(queueDepth: 0).validate() }
        try IOURingCopyOptions(queueDepth: 64, blockSize: 1 << 20).validate()
    }
}

@Suite("CopyEngine: clone, null and the registry")
struct CopyEngineRegistryTests {
    /// ext4 (the root filesystem here) has no reflinks; across filesystems none can exist.
    @Test func cloneIsUnsupportedWithoutReflinks() throws {
        try withTemporaryDirectory { directory in
            try CopyFixture.makeSource(.unaligned, at: "\(directory)/lower")
            let sourceIsReflinkCapable: Bool
            do {
                try CopyFixture.copyAndCheck(
                    CloneCopyEngine(), layout: .unaligned, source: "\(directory)/lower", destination: "\(directory)/upper",
                    expectedMethods: ["clone"])
                sourceIsReflinkCapable = true
            } catch CopyEngineError.unsupported(let reason) {
                #expect(reason.contains("FICLONE"))
                sourceIsReflinkCapable = false
            }
            if try CopyFixture.fileSystemType(of: "/var/tmp") == "ext4" {
                #expect(!sourceIsReflinkCapable, "FICLONE worked on ext4?")
            }

            try CopyFixture.withTmpfsDirectory { tmpfs in
                let input = try FileDescriptor.open("\(directory)/lower", .readOnly)
                defer { input.closeIgnoringErrors() }
                let output = try FileDescriptor.open("\(tmpfs)/upper", [.writeOnly, .create])
                defer { output.closeIgnoringErrors() }
                #expect {
                    try CloneCopyEngine().copy(from: input, to: output, length: SourceLayout.unaligned.size, options: .init())
                } throws: { error in
                    guard case CopyEngineError.unsupported(let reason) = error else { return false }
                    return reason.contains("EXDEV") || reason.contains("EOPNOTSUPP")
                }
            }
        }
    }

    @Test func nullEngineCopiesNothing() throws {
        try withTemporaryDirectory { directory in
            try CopyFixture.makeSource(.unaligned, at: "\(directory)/lower")
            let input = try FileDescriptor.open("\(directory)/lower", .readOnly)
            defer { input.closeIgnoringErrors() }
            let output = try FileDescriptor.open("\(directory)/upper", [.writeOnly, .create])
            defer { output.closeIgnoringErrors() }
            let result = try NullCopyEngine().copy(from: input, to: output, length: 1 << 20, options: .init(skipHoles: true, fsync: true))
            #expect(result == CopyResult(bytesCopied: 0, method: "null", syscalls: 0))
            #expect(try output.status().size == 0)
        }
    }

    @Test func registryMakesEveryEngine() throws {
        #expect(Set(CopyEngineKind.allIdentifiers).count == CopyEngineKind.allCases.count)
        for kind in CopyEngineKind.allCases where !kind.engineType.identifier.hasPrefix("io_uring") || Gate.ioURing.isAvailable {
            let engine = try CopyEngineKind.make(identifier: kind.identifier, options: .init())
            #expect(engine.identifier == kind.identifier)
            #expect(kind.engineType.identifier == kind.identifier)
        }
        #expect(throws: CopyEngineError.unknownEngine(identifier: "rsync")) { try CopyEngineKind.make(identifier: "rsync", options: .init()) }
        #expect(throws: CopyEngineError.self) { try CopyEngineKind.make(identifier: "io_uring", options: .init(queueDepth: 65)) }
    }

    @Test func dataExtentsWalkOnlyData() throws {
        try withTemporaryDirectory { directory in
            let path = "\(directory)/sparse"
            let fd = try FileDescriptor.open(path, [.readWrite, .create])
            defer { fd.closeIgnoringErrors() }
            try fd.truncate(to: 1 << 20)
            let block = [UInt8](repeating: 7, count: 8192)
            try block.withUnsafeBytes { try fd.pwriteAll($0, at: 65536) }
            try block.withUnsafeBytes { try fd.pwriteAll($0, at: 512 << 10) }

            var extents = try DataExtents(of: fd, length: 1 << 20, skipHoles: true)
            var chunks: [Range<Int64>] = []
            while let chunk = try extents.nextChunk(maximumLength: 4096) { chunks.append(chunk) }
            let expected: [Range<Int64>] = [65536..<69632, 69632..<73728, 524288..<528384, 528384..<532480]
            #expect(chunks == expected)

            var whole = try DataExtents(of: fd, length: 100_000, skipHoles: false)
            let first = try whole.next()
            let second = try whole.next()
            #expect(first == 0..<100_000)
            #expect(second == nil)
        }
    }
}
