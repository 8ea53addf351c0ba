import OverlayCore
import OverlaySystem

/// Every entry of a directory tree, walked without following symlinks, as a merged view and a
/// flattened root filesystem must agree on them: type, mode, owner, size, the SHA-256 of a
/// file's content, a symlink's target, a device's number, the `user.`/`security.` xattrs, and
/// which names share an inode (hard links).
public struct TreeSnapshot: Sendable {
    public struct Entry: Sendable, Equatable, CustomStringConvertible {
        public var type: FileType
        public var permissions: UInt32
        public var uid: UInt32
        public var gid: UInt32
        public var size: Int64
        public var contentHash: String?
        public var linkTarget: String?
        public var device: String?
        public var xattrs: [String]
        /// Seconds; nil for directories, whose times depend on how the tree was written.
        public var modificationTime: Int64?

        public var description: String {
            "\(type.rawValue) \(String(permissions, radix: 8)) \(uid):\(gid) \(size)"
                + (contentHash.map { " sha256:" + $0.prefix(12) } ?? "") + (linkTarget.map { " -> " + $0 } ?? "")
                + (device.map { " dev " + $0 } ?? "") + (xattrs.isEmpty ? "" : " " + xattrs.joined(separator: ","))
                + (modificationTime.map { " mtime \($0)" } ?? "")
        }
    }

    public var entries: [String: Entry] = [:]
    /// Groups of two or more paths that are one inode, each sorted, sorted.
    public var hardLinkGroups: [[String]] = []

    public init(_ root: String) throws {
        let fd = try FileDescriptor.open(root, [.readOnly, .directory])
        defer { fd.closeIgnoringErrors() }
        var inodes: [UInt64: [String]] = [:]
        try walk(fd, path: "", inodes: &inodes)
        hardLinkGroups = inodes.values.filter { $0.count > 1 }.map { $0.sorted() }.sorted { $0[0] < $1[0] }
    }

    private mutating func walk(_ directory: FileDescriptor, path: String, inodes: inout [UInt64: [String]]) throws {
        for entry in try directory.entries().sorted(by: { $0.name < $1.name }) {
            let relative = path.isEmpty ? entry.name : path + "/" + entry.name
            let status = try directory.status(of: entry.name)
            var record = Entry(type: status.type, permissions: status.permissions, uid: status.uid, gid: status.gid,
                               size: status.type == .directory ? 0 : status.size, contentHash: nil, linkTarget: nil,
                               device: nil, xattrs: [], modificationTime: status.type == .directory ? nil : status.modificationTime.seconds)
            let attributePath = ExtendedAttributes.path(entry.name, in: directory)
            for name in try ExtendedAttributes.list(path: attributePath).sorted()
            where (name.hasPrefix("user.") || name.hasPrefix("security.")) && name != "security.selinux" {
                let value = try ExtendedAttributes.get(name, path: attributePath) ?? []
                record.xattrs.append(name + "=" + SHA256Hasher.hexString(value))
            }
            switch status.type {
            case .regular:
                let file = try FileDescriptor.open(entry.name, [.readOnly, .noFollow], relativeTo: directory)
                defer { file.closeIgnoringErrors() }
                var hasher = SHA256Hasher()
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
                defer { buffer.deallocate() }
                var offset: Int64 = 0
                while true {
                    let n = try file.pread(into: buffer, at: offset)
                    if n == 0 { break }
                    hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                    offset += Int64(n)
                }
                record.contentHash = SHA256Hasher.hexString(hasher.finalize())
                if status.linkCount > 1 { inodes[status.inode, default: []].append(relative) }
            case .symlink:
                record.linkTarget = try directory.readSymlink(entry.name)
            case .characterDevice, .blockDevice:
                record.device = "\(status.rdevMajor):\(status.rdevMinor)"
            default:
                break
            }
            entries[relative] = record
            if status.type == .directory {
                let child = try FileDescriptor.open(entry.name, [.readOnly, .directory, .noFollow], relativeTo: directory)
                defer { child.closeIgnoringErrors() }
                try walk(child, path: relative, inodes: &inodes)
            }
        }
    }

    /// One line per difference (`+` only in `other`, `-` only here, `~` both but different).
    public func differences(from other: TreeSnapshot) -> [String] {
        var lines: [String] = []
        for path in Set(entries.keys).union(other.entries.keys).sorted() {
            switch (entries[path], other.entries[path]) {
            case (let mine?, nil): lines.append("- \(path): \(mine)")
            case (nil, let theirs?): lines.append("+ \(path): \(theirs)")
            case (let mine?, let theirs?) where mine != theirs: lines.append("~ \(path): \(mine) | \(theirs)")
            default: break
            }
        }
        if hardLinkGroups != other.hardLinkGroups {
            lines.append("hard links: \(hardLinkGroups) | \(other.hardLinkGroups)")
        }
        return lines
    }
}
