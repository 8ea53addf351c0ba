import OverlaySystem

/// Imports an image into Docker overlay2's layout (see ``ImportedImage``), applying its layers
/// bottom-up, each into its own `diff` directory, with ``LayerApplier``.
///
/// Nothing half-imported is ever at the destination: the import is built in a new directory
/// beside it (`.NAME.import-XXXXXX` in the same parent, so on the same filesystem), synced, and
/// renamed into place with `RENAME_NOREPLACE` only once every blob has been read to its end and
/// matched its digest. On any error, or an interruption, that directory is removed.
public struct ImageImporter {
    public var options: LayerApplyOptions
    /// Called after each layer (index from the bottom, counts), for progress lines.
    public var progress: (@Sendable (String) -> Void)?

    public init(options: LayerApplyOptions = LayerApplyOptions()) { self.options = options }

    /// Imports `reference` to `destination`, which must not exist; returns what `image.json` says.
    public func importImage(_ reference: ImageReference, to destination: String) throws -> ImportedImage {
        let plan = try ImagePlan.resolve(reference)
        let target = try absolute(destination)
        guard !FileSystem.exists(target) else {
            throw ImageError(.cannotCreate, "\(destination) exists; import writes a new directory and replaces nothing")
        }
        let slash = target.lastIndex(of: "/")!
        let parent = slash == target.startIndex ? "/" : String(target[..<slash])
        let name = String(target[target.index(after: slash)...])
        guard FileSystem.isDirectory(parent) else { throw ImageError(.cannotCreate, "\(parent): no such directory") }
        let scratch: String
        do {
            scratch = try FileSystem.makeTemporaryDirectory(in: parent, prefix: ".\(name).import-")
        } catch {
            throw ImageError(.cannotCreate, "create a directory beside \(destination): \(error)")
        }
        do {
            let image = try build(plan, in: scratch, finalPath: target)
            let directory = try FileDescriptor.open(parent, [.readOnly, .directory])
            defer { directory.closeIgnoringErrors() }
            do {
                try FileDescriptor.currentWorkingDirectory.changeMode(scratch, permissions: 0o755)
                try directory.syncFilesystem(path: parent)
                try directory.rename(String(scratch.dropFirst(parent.count + (parent == "/" ? 0 : 1))), to: name,
                                     in: directory, noReplace: true)
                try directory.fsync(path: parent)
            } catch {
                if error.errno == .fileExists || error.errno == .directoryNotEmpty {
                    throw ImageError(.cannotCreate, "\(destination) appeared while importing; it was left alone")
                }
                throw ImageError.system(error, "rename into \(destination)")
            }
            return image
        } catch {
            try? TreeRemover.remove(scratch)
            throw error
        }
    }

    private func absolute(_ path: String) throws -> String {
        var result: String
        do { result = try FileSystem.absolute(path) } catch { throw ImageError.system(error, path) }
        while result.count > 1 && result.hasSuffix("/") { result.removeLast() }
        return result
    }

    /// Writes every layer, `image.json` and `lowerdir` into `scratch`, naming paths as they will
    /// be once it is renamed to `finalPath`.
    private func build(_ plan: ImagePlan, in scratch: String, finalPath: String) throws -> ImportedImage {
        let cwd = FileDescriptor.currentWorkingDirectory
        let started = MonotonicClock.now()
        do { try cwd.makeDirectory(scratch + "/l", mode: 0o700) } catch { throw ImageError.system(error, scratch + "/l") }
        var chain: Digest?
        var applied: [(id: String, short: String, layer: ImportedImage.Layer)] = []
        var lowerRoots: [FileDescriptor] = []
        defer { for root in lowerRoots { root.closeIgnoringErrors() } }
        for layer in plan.layers {
            try SignalTrap.check()
            // ChainID(n) = SHA-256(ChainID(n-1) + " " + DiffID(n)); the bottom's is its diff ID.
            let chainID = chain.map { Digest.of(Array("\($0) \(layer.diffID)".utf8)) } ?? layer.diffID
            chain = chainID
            let id = chainID.hex
            let short = Self.shortName(id)
            let directory = scratch + "/" + id
            let root: FileDescriptor
            do {
                try cwd.makeDirectory(directory, mode: 0o700)
                try cwd.makeDirectory(directory + "/diff", mode: 0o755)
                try cwd.changeMode(directory + "/diff", permissions: 0o755)
                try FileSystem.writeAtomically(Array(short.utf8), to: directory + "/link", replacing: false)
                try cwd.makeSymlink(scratch + "/l/" + short, target: "../\(id)/diff")
                if !applied.isEmpty {
                    let parents = applied.reversed().map { "l/" + $0.short }.joined(separator: ":")
                    try FileSystem.writeAtomically(Array(parents.utf8), to: directory + "/lower", replacing: false)
                }
                root = try FileDescriptor.open(directory + "/diff", [.path, .directory, .noFollow])
            } catch {
                throw ImageError.system(error, directory)
            }
            let record: ImportedImage.Layer
            do {
                record = try apply(layer, plan.files, root: root, lowerRoots: lowerRoots, id: id, short: short)
            } catch {
                root.closeIgnoringErrors()
                throw error
            }
            lowerRoots.insert(root, at: 0)
            applied.append((id, short, record))
            progress?("\(layer.name): \(record.counts.entries) entries, \(record.uncompressedSize) bytes")
        }
        let image = ImportedImage(
            source: plan.reference.description, transport: plan.reference.transport, tag: plan.reference.tag,
            manifestDigest: plan.manifestDigest, configDigest: plan.configDigest, rootless: options.rootless,
            layers: applied.reversed().map(\.layer), importNanoseconds: MonotonicClock.now() &- started)
        let lowerdir = image.layers.map { KernelMountPlan.escape(finalPath + "/" + $0.id + "/diff") }.joined(separator: ":")
        do {
            try FileSystem.writeAtomically(try image.encoded(), to: scratch + "/" + ImportedImage.fileName, replacing: false)
            try FileSystem.writeAtomically(Array((lowerdir + "\n").utf8), to: scratch + "/" + ImportedImage.lowerdirFileName, replacing: false)
        } catch let error as SystemError {
            throw ImageError.system(error, scratch)
        }
        return image
    }

    /// Streams one layer's blob through its digest check, decompression and diff-ID check into
    /// the tar reader, and applies each member.
    private func apply(
        _ layer: LayerPlan, _ files: ImageFiles, root: FileDescriptor, lowerRoots: [FileDescriptor], id: String, short: String
    ) throws -> ImportedImage.Layer {
        guard let range = try files.range(layer.path) else {
            throw ImageError(.missing, "\(layer.name): the blob is missing (\(layer.path))")
        }
        if let size = layer.size, size != range.length {
            let problem = range.length < size ? "truncated: \(range.length) of \(size) bytes" : "\(range.length) bytes, not \(size)"
            throw ImageError(.malformed, "\(layer.name): \(problem)")
        }
        let blob = VerifiedBlobStream(name: layer.name, file: range.descriptor, offset: range.offset, length: range.length,
                                      expected: layer.digest)
        // The first bytes say how the blob is really compressed; they must agree with the media type.
        var head = [UInt8](repeating: 0, count: Int(min(range.length, 4096)))
        var got = 0
        while got < head.count {
            let n = try head.withUnsafeMutableBytes { bytes -> Int in
                try blob.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[got...]))
            }
            if n == 0 { break }
            got += n
        }
        let detected = LayerCompression(magic: head)
        if let declared = layer.compression, declared != detected {
            throw ImageError(.malformed, "\(layer.name): the media type \(layer.mediaType ?? "") says \(declared.rawValue), but the blob is \(detected == .none ? "not compressed" : detected.rawValue)")
        }
        let decompressed = try detected.decompressing(PrefixedStream(prefix: head, rest: blob), name: layer.name)
        let hashing = HashingStream(decompressed)
        let tar = TarReader(BufferedReader(hashing), context: layer.name)
        let applier = try LayerApplier(root: root, lowerRoots: lowerRoots, options: options, context: layer.name)
        while let entry = try tar.next() {
            try SignalTrap.check()
            try applier.apply(entry, from: tar)
        }
        try applier.finish()
        // The digests cover every byte: what follows the tar's end, and any padding after the
        // compressed stream.
        try tar.drain()
        try blob.drain()
        guard blob.verified || layer.digest == nil else {
            throw ImageError(.malformed, "\(layer.name): the blob was not read to its end")
        }
        guard hashing.digest == layer.diffID else {
            throw ImageError(.malformed, "\(layer.name): diff ID mismatch: the uncompressed layer's SHA-256 is \(hashing.digest), not \(layer.diffID)")
        }
        if layer.digest == nil && detected == .none && blob.digest != layer.diffID {
            throw ImageError(.malformed, "\(layer.name): diff ID mismatch")
        }
        return ImportedImage.Layer(
            id: id, shortName: short, digest: layer.digest ?? blob.digest, diffID: layer.diffID, mediaType: layer.mediaType,
            compression: detected, compressedSize: range.length, uncompressedSize: hashing.count, counts: applier.counts)
    }

    /// 26 characters of base32, as Docker's `l/` names, derived from the id so that one image
    /// always imports to the same names.
    static func shortName(_ id: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        let digest = Digest.of(Array(("overlaybench link " + id).utf8))
        var bytes = Array(digest.hex.utf8)
        bytes = stride(from: 0, to: 40, by: 2).map { UInt8(String(decoding: bytes[$0..<($0 + 2)], as: UTF8.self), radix: 16)! }
        var bits: UInt64 = 0
        var count = 0
        var name = ""
        for byte in bytes {
            bits = bits << 8 | UInt64(byte)
            count += 8
            while count >= 5 && name.count < 26 {
                count -= 5
                name.append(alphabet[Int((bits >> UInt64(count)) & 31)])
            }
        }
        return name
    }
}
