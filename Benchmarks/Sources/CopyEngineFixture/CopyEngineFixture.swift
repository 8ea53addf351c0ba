import Foundation
import OverlayCore
import OverlaySystem

/// One copy engine and a warm source file under /var/tmp, for the CopyEngines benchmarks.
///
public final class CopyEngineFixture: @unchecked Sendable {
    /// Every engine identifier, in the registry's order.
    public static var engineIdentifiers: [String] { CopyEngineKind.allIdentifiers }

    /// Whether FICLONE works under /var/tmp; never on ext4.
    public static var reflinkWorksUnderVarTmp: Bool {
        (try? withScratchDirectory { directory in
            let source = try FileDescriptor.open("\(directory)/a", [.readWrite, .create])
            defer { source.closeIgnoringErrors() }
            let destination = try FileDescriptor.open("\(directory)/b", [.readWrite, .create])
            defer { destination.closeIgnoringErrors() }
            _ = try CloneCopyEngine().copy(from: source, to: destination, length: 0, options: CopyOptions())
        }) != nil
    }

    /// Whether an io_uring can be set up here.
    public static var ioURingWorks: Bool { (try? IOURing(entries: 4)) != nil }

    public let identifier: String
    public let size: Int64
    private var state: State?

    private final class State {
        let engine: any CopyEngine
        let source: FileDescriptor
        let directory: String
        init(engine: any CopyEngine, source: FileDescriptor, directory: String) {
            self.engine = engine
            self.source = source
            self.directory = directory
        }
    }

    public init(identifier: String, size: Int64) {
        self.identifier = identifier
        self.size = size
    }

    /// Writes the source, fsyncs it and reads it back (warm cache), and makes the engine.
    public func setUp() throws {
        let directory = "/var/tmp/overlaybench-bench-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        let path = "\(directory)/lower"
        let fd = try FileDescriptor.open(path, [.readWrite, .create, .truncate])
        var random = SystemRandomNumberGenerator()
        var words = [UInt64](repeating: 0, count: 1 << 17)  // 1 MiB
        var offset: Int64 = 0
        while offset < size {
            for index in words.indices { words[index] = random.next() }
            let count = Int(min(size - offset, 1 << 20))
            try words.withUnsafeBytes { try fd.pwriteAll(UnsafeRawBufferPointer(rebasing: $0[..<count]), at: offset) }
            offset += Int64(count)
        }
        try fd.fsync()
        _ = try Data(contentsOf: URL(fileURLWithPath: path))
        state = State(engine: try CopyEngineKind.make(identifier: identifier), source: fd, directory: directory)
    }

    /// Copies the source once into a fresh destination, with hole skipping as copy-up does and
    /// no fsync. `measure` wraps only the copy; returns ``CopyResult/syscalls``.
    public func copyOnce(measure: (() throws -> Void) throws -> Void) throws -> Int {
        guard let state else { return 0 }
        let destination = "\(state.directory)/upper"
        let output = try FileDescriptor.open(destination, [.writeOnly, .create, .truncate])
        defer {
            output.closeIgnoringErrors()
            // Unlinked before writeback starts, the dirty pages are dropped, not written.
            try? FileManager.default.removeItem(atPath: destination)
        }
        var syscalls = 0
        try measure {
            syscalls = try state.engine.copy(
                from: state.source, to: output, length: size, options: CopyOptions(skipHoles: true, fsync: false)).syscalls
        }
        return syscalls
    }

    public func tearDown() {
        guard let state else { return }
        state.source.closeIgnoringErrors()
        try? FileManager.default.removeItem(atPath: state.directory)
        self.state = nil
    }

    private static func withScratchDirectory(_ body: (String) throws -> Void) throws {
        let directory = "/var/tmp/overlaybench-bench-probe-\(String(UInt64.random(in: 0...UInt64.max), radix: 16))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try body(directory)
    }
}
