import OverlayCore
import OverlaySystem

/// A canonical listing of a tree, for comparing backends: one line per entry, sorted by path,
/// `path type mode uid gid size content` where content is the SHA-256 of a file, the target of
/// a symlink, `major:minor` of a device and `-` otherwise. Each entry's `user.*` xattrs follow
/// on their own lines as `  name=value`. Timestamps and inode numbers are left out: they never
/// match between backends.
public enum TreeDump {
    /// The merged view, as `target` shows it.
    public static func merged(_ target: any ReplayTarget) -> [String] {
        var lines: [(String, [String])] = []
        walkMerged(target, path: "", into: &lines)
        return lines.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }

    /// An upper directory as the filesystem holds it: whiteouts show as `c 0000 … 0:0`, and an
    /// opaque directory ends its line with `opaque=y`.
    public static func upper(_ path: String) throws -> [String] {
        let root = try FileDescriptor.open(path, [.path, .directory])
        defer { root.closeIgnoringErrors() }
        var lines: [(String, [String])] = []
        try walkUpper(root, relative: "", into: &lines)
        return lines.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }

    /// Both sections, merged first.
    public static func dump(_ target: any ReplayTarget, upperPath: String) throws -> [String] {
        ["# merged"] + merged(target) + ["# upper"] + (try upper(upperPath))
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    static func entryLine(_ path: String, _ status: FileStatus, content: String) -> String {
        "\(path.isEmpty ? "." : path) \(status.type.rawValue) \(octal(status.permissions)) \(status.uid) \(status.gid) \(status.size) \(content)"
    }

    static func attributeLines(_ attributes: [(name: String, value: [UInt8])]) -> [String] {
        attributes.filter { $0.name.hasPrefix("user.") }.sorted { $0.name < $1.name }.map { "  \($0.name)=\(printable($0.value))" }
    }

    static func printable(_ value: [UInt8]) -> String {
        if value.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) { return String(decoding: value, as: UTF8.self) }
        return "0x" + value.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    private static func hashFile(_ fd: FileDescriptor) throws(SystemError) -> String {
        var hasher = SHA256Hasher()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: Int64 = 0
        while true {
            let count = try fd.pread(into: buffer, at: offset)
            if count == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            offset += Int64(count)
        }
        return SHA256Hasher.hexString(hasher.finalize())
    }

    private static func walkMerged(_ target: any ReplayTarget, path: String, into lines: inout [(String, [String])]) {
        let key = path.isEmpty ? "." : path
        let status: FileStatus
        do {
            status = try target.status(path.isEmpty ? "." : path)
        } catch {
            lines.append((key, ["\(key) ! \(error.errno.name)"]))
            return
        }
        var content = "-"
        do {
            switch status.type {
            case .regular:
                let fd = try target.open(path, .readOnly, mode: 0)
                defer { fd.closeIgnoringErrors() }
                content = try hashFile(fd)
            case .symlink: content = try target.readSymlink(path)
            case .characterDevice, .blockDevice: content = "\(status.rdevMajor):\(status.rdevMinor)"
            default: break
            }
        } catch {
            content = "!\(error.errno.name)"
        }
        var entry = [entryLine(path, status, content: content)]
        if status.type == .regular || status.type == .directory {
            do { entry += attributeLines(try target.extendedAttributes(path.isEmpty ? "." : path)) } catch { entry.append("  !xattr \(error.errno.name)") }
        }
        lines.append((key, entry))
        guard status.type == .directory else { return }
        let names: [String]
        do { names = try target.directoryEntries(path.isEmpty ? "." : path) } catch {
            lines.append((key + "/", ["\(key)/ ! \(error.errno.name)"]))
            return
        }
        for name in names.sorted() { walkMerged(target, path: path.isEmpty ? name : path + "/" + name, into: &lines) }
    }

    private static func walkUpper(_ root: FileDescriptor, relative: String, into lines: inout [(String, [String])]) throws {
        let name = relative.isEmpty ? "." : relative
        let status = try root.status(of: name)
        let attributePath = "/proc/self/fd/\(root.rawValue)/\(name)"
        var content = "-"
        var suffix = ""
        switch status.type {
        case .regular:
            let fd = try FileDescriptor.open(name, [.readOnly, .noFollow], relativeTo: root)
            defer { fd.closeIgnoringErrors() }
            content = try hashFile(fd)
        case .symlink: content = try root.readSymlink(name)
        case .characterDevice, .blockDevice: content = "\(status.rdevMajor):\(status.rdevMinor)"
        case .directory:
            if let value = try ExtendedAttributes.get("trusted.overlay.opaque", path: attributePath), value == Array("y".utf8) {
                suffix = " opaque=y"
            }
        default: break
        }
        var entry = [entryLine(relative, status, content: content) + suffix]
        if status.type == .regular || status.type == .directory {
            let names = try ExtendedAttributes.list(path: attributePath)
            var attributes: [(name: String, value: [UInt8])] = []
            for attribute in names where attribute.hasPrefix("user.") {
                if let value = try ExtendedAttributes.get(attribute, path: attributePath) { attributes.append((attribute, value)) }
            }
            entry += attributeLines(attributes)
        }
        lines.append((name, entry))
        guard status.type == .directory else { return }
        let fd = try FileDescriptor.open(name, [.readOnly, .directory, .noFollow], relativeTo: root)
        let children = try fd.entries().map(\.name)
        fd.closeIgnoringErrors()
        for child in children.sorted() { try walkUpper(root, relative: relative.isEmpty ? child : relative + "/" + child, into: &lines) }
    }
}
