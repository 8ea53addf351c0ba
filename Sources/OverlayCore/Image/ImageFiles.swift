import OverlaySystem

/// A file of an image, read in place: a whole file of an OCI layout, or a member's bytes inside
/// an uncompressed archive.
struct ImageFileRange {
    var descriptor: FileDescriptor
    var offset: Int64
    var length: Int64
}

/// The files an image is made of: an OCI layout directory, or a tar archive (an OCI archive, a
/// docker archive) whose members are found by reading its headers once and are then read where
/// they lie, with no copy.
final class ImageFiles {
    private struct Member {
        var offset: Int64
        var size: Int64
        var typeflag: UInt8
        var linkName: String
    }

    let location: String
    private let descriptor: FileDescriptor
    private let isDirectory: Bool
    private var members: [String: Member] = [:]

    /// Opens a layout directory (`archive: false`) or an archive file.
    init(_ path: String, archive: Bool) throws {
        location = path
        isDirectory = !archive
        do {
            descriptor = try FileDescriptor.open(path, archive ? [.readOnly] : [.readOnly, .directory])
        } catch {
            throw ImageError.system(error, path)
        }
        // Every stored property is set from here on, so a throw runs deinit, which closes the
        // descriptor: closing it here too would close whatever took its number meanwhile.
        if archive { try indexArchive() }
    }

    deinit {
        descriptor.closeIgnoringErrors()
        for file in opened { file.closeIgnoringErrors() }
    }

    private var opened: [FileDescriptor] = []

    /// A file by its path inside the image (`index.json`, `blobs/sha256/…`), or nil if absent.
    func range(_ path: String) throws -> ImageFileRange? {
        let name = Self.normalize(path)
        if isDirectory {
            let file: FileDescriptor
            do {
                // Beneath the layout: a name from a manifest never leaves it.
                file = try FileDescriptor.open(name, [.readOnly], mode: 0, relativeTo: descriptor, resolve: [.beneath])
            } catch {
                if error.errno == .noSuchFileOrDirectory { return nil }
                throw ImageError.system(error, "\(location)/\(name)")
            }
            opened.append(file)
            let size: Int64
            do { size = try file.status().size } catch { throw ImageError.system(error, "\(location)/\(name)") }
            return ImageFileRange(descriptor: file, offset: 0, length: size)
        }
        var current = name
        // Follow links between members (docker save links identical layers), a few hops at most.
        for _ in 0..<8 {
            guard let member = members[current] else { return nil }
            switch member.typeflag {
            case UInt8(ascii: "2"):
                let directory = current.split(separator: "/").dropLast().joined(separator: "/")
                current = Self.normalize(member.linkName.hasPrefix("/") ? member.linkName : directory + "/" + member.linkName)
            case UInt8(ascii: "1"):
                current = Self.normalize(member.linkName)
            default:
                return ImageFileRange(descriptor: descriptor, offset: member.offset, length: member.size)
            }
        }
        throw ImageError(.malformed, "\(location): \(name): too many links between archive members")
    }

    /// The whole content of a small file (JSON), at most `limit` bytes.
    func read(_ path: String, limit: Int = 64 << 20) throws -> [UInt8]? {
        guard let range = try range(path) else { return nil }
        guard range.length <= Int64(limit) else {
            throw ImageError(.malformed, "\(location): \(path) is \(range.length) bytes, more than \(limit) expected")
        }
        let bytes = try Self.bytes(range.descriptor, at: range.offset, count: Int(range.length), context: "\(location): \(path)")
        guard bytes.count == Int(range.length) else { throw ImageError(.malformed, "\(location): \(path) is truncated") }
        return bytes
    }

    /// Up to `count` bytes at `offset` (fewer at the end of the file).
    private static func bytes(_ file: FileDescriptor, at offset: Int64, count: Int, context: String) throws -> [UInt8] {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 16)
        defer { buffer.deallocate() }
        let got: Int
        do {
            got = try file.preadFully(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<count]), at: offset)
        } catch {
            throw ImageError.system(error, context)
        }
        return Array(buffer[0..<got])
    }

    /// `./a//b/` → `a/b`, with `..` stopping at the top, as for layer names.
    static func normalize(_ path: String) -> String {
        LayerApplier.components(path).path.joined(separator: "/")
    }

    /// Reads every header of the archive, skipping member data with no read.
    private func indexArchive() throws {
        let size: Int64
        do { size = try descriptor.status().size } catch { throw ImageError.system(error, location) }
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: TarHeader.blockSize, alignment: 16)
        defer { block.deallocate() }
        var offset: Int64 = 0
        var longName: String?
        var longLink: String?
        var pax = PAXRecords()
        var first = true
        while offset + Int64(TarHeader.blockSize) <= size {
            let context = "\(location) at byte \(offset)"
            do {
                _ = try descriptor.preadFully(into: block, at: offset)
            } catch {
                throw ImageError.system(error, location)
            }
            if first && LayerCompression(magic: UnsafeRawBufferPointer(block)) != .none {
                throw ImageError(.malformed, "\(location): a compressed archive; decompress it first (gunzip, zstd -d)")
            }
            first = false
            guard let header = try TarHeader.parse(UnsafeRawBufferPointer(block), context: context) else { break }
            let dataOffset = offset + Int64(TarHeader.blockSize)
            guard header.size >= 0, dataOffset + header.size <= size else {
                throw ImageError(.malformed, "\(context): truncated archive: member \(header.name) runs past the end")
            }
            offset = dataOffset + TarHeader.paddedSize(header.size)
            func data() throws -> [UInt8] {
                guard header.size <= 16 << 20 else { throw ImageError(.malformed, "\(context): metadata member of \(header.size) bytes") }
                return try Self.bytes(descriptor, at: dataOffset, count: Int(header.size), context: context)
            }
            switch header.typeflag {
            case UInt8(ascii: "x"): pax = try PAXRecords(parsing: try data(), context: context); continue
            case UInt8(ascii: "g"): continue
            case UInt8(ascii: "L"): longName = try TarHeader.utf8(Array(try data().prefix { $0 != 0 }), context); continue
            case UInt8(ascii: "K"): longLink = try TarHeader.utf8(Array(try data().prefix { $0 != 0 }), context); continue
            default: break
            }
            let name = try pax.string("path", context) ?? longName ?? header.name
            let link = try pax.string("linkpath", context) ?? longLink ?? header.linkName
            let memberSize = try pax.integer("size", context) ?? header.size
            if memberSize != header.size {
                offset = dataOffset + TarHeader.paddedSize(memberSize)
                guard dataOffset + memberSize <= size else { throw ImageError(.malformed, "\(context): truncated archive") }
            }
            members[Self.normalize(name)] = Member(offset: dataOffset, size: header.carriesData ? memberSize : 0,
                                                   typeflag: header.typeflag, linkName: link)
            pax = PAXRecords()
            longName = nil
            longLink = nil
        }
    }
}
