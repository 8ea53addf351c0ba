import OverlaySystem

/// Writes a ``LayerStack`` to disk from a ``LayerStackSpec``. The same spec and seed always give
/// the same tree: layer ids, short names and every byte of content.
public struct LayerStackBuilder {
    public let spec: LayerStackSpec
    /// Fraction of headroom required beyond the estimate before generating.
    public var spaceMargin: Double = 0.05

    public init(spec: LayerStackSpec) { self.spec = spec }

    /// Bytes a run over this stack may need: the lower files, plus one full copy-up of each.
    public var estimatedBytes: Int64 {
        let metadata = Int64(spec.layerCount) * 16 * 1024 + Int64(spec.files.count) * 4096
        return spec.totalFileBytes * 2 + metadata
    }

    /// Generates the stack under `directory` (which must exist and be empty of an `overlay2`).
    public func build(in directory: String) throws -> LayerStack {
        try spec.validate()
        let free = try Host.freeSpace(at: directory).bytes
        let needed = Int64(Double(estimatedBytes) * (1 + spaceMargin))
        if needed > free { throw WorkloadError.insufficientSpace(needed: needed, available: free, path: directory) }

        let root = directory + "/overlay2"
        let cwd = FileDescriptor.currentWorkingDirectory
        try cwd.makeDirectory(root, mode: 0o700)
        try cwd.makeDirectory(root + "/l", mode: 0o700)

        var random = SplitMix64(seed: spec.seed)
        let layers = (0..<spec.layerCount).map { _ in makeLayer(root: root, random: &random) }
        let container = makeLayer(root: root, random: &random)

        for (index, layer) in layers.enumerated() {
            try cwd.makeDirectory(layer.directory, mode: 0o700)
            try cwd.makeDirectory(layer.diff, mode: 0o755)
            try writeSmallFile(layer.directory + "/link", layer.shortName)
            try cwd.makeSymlink(root + "/l/" + layer.shortName, target: "../\(layer.id)/diff")
            let parents = layers[(index + 1)...].map { "l/" + $0.shortName }
            if !parents.isEmpty { try writeSmallFile(layer.directory + "/lower", parents.joined(separator: ":")) }
        }
        try cwd.makeDirectory(container.directory, mode: 0o700)
        for path in [container.diff, container.work, container.merged] { try cwd.makeDirectory(path, mode: 0o755) }
        try writeSmallFile(container.directory + "/link", container.shortName)
        try cwd.makeSymlink(root + "/l/" + container.shortName, target: "../\(container.id)/diff")
        try writeSmallFile(container.directory + "/lower", layers.map { "l/" + $0.shortName }.joined(separator: ":"))

        let stack = LayerStack(root: root, spec: spec, lowerLayers: layers, container: container)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(FileSpec.sparseChunk), alignment: 4096)
        defer { buffer.deallocate() }
        for file in spec.files {
            try writeFile(file, into: layers[file.layer].diff, pattern: stack.pattern(for: file.path), buffer: buffer)
        }
        if let shapes = spec.shapes { try ShapeBuilder(shapes: shapes, seed: spec.seed).build(stack) }
        // Flush the generated data now, so its writeback does not compete with what is measured.
        PageCache.sync()
        return stack
    }

    private func makeLayer(root: String, random: inout SplitMix64) -> LayerStack.Layer {
        let id = (0..<4).map { _ in
            let hex = String(random.next(), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let shortName = String((0..<26).map { _ in alphabet[Int(random.next() % 32)] })
        return .init(id: id, shortName: shortName, directory: root + "/" + id)
    }

    private func writeSmallFile(_ path: String, _ text: String) throws {
        let fd = try FileDescriptor.open(path, [.writeOnly, .create, .exclusive], mode: 0o644)
        defer { fd.closeIgnoringErrors() }
        try fd.writeAll(Array(text.utf8), at: 0)
    }

    private func writeFile(_ file: FileSpec, into diff: String, pattern: ContentPattern, buffer: UnsafeMutableRawBufferPointer) throws {
        let cwd = FileDescriptor.currentWorkingDirectory
        var parent = diff
        for component in file.path.split(separator: "/").dropLast() {
            parent += "/" + component
            do {
                try cwd.makeDirectory(parent, mode: 0o755)
            } catch {
                if error.errno != .fileExists { throw error }
            }
        }
        let fd = try FileDescriptor.open(diff + "/" + file.path, [.writeOnly, .create, .exclusive], mode: 0o644)
        defer { fd.closeIgnoringErrors() }
        var offset: Int64 = 0
        while offset < file.size {
            // A generation can write gigabytes: honour Ctrl-C within a MiB.
            try SignalTrap.check()
            // The buffer is one sparse chunk, so each pass writes a whole chunk or skips a hole.
            let count = Int(min(Int64(buffer.count), file.size - offset))
            if !file.isHole(at: offset) {
                let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count])
                pattern.fill(chunk, at: offset)
                try fd.pwriteAll(UnsafeRawBufferPointer(chunk), at: offset)
            }
            offset += Int64(count)
        }
        if file.sparse == true { try fd.truncate(to: file.size, path: file.path) }
    }
}

/// SplitMix64: the seeded generator behind layer ids and names.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
