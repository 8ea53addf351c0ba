import OverlaySystem

/// One line of `/proc/self/mountinfo`, unescaped.
public struct MountEntry: Sendable, Hashable {
    public var id: Int
    public var parentID: Int
    public var mountPoint: String
    /// Per-mount options (`rw,relatime`).
    public var mountOptions: String
    public var fileSystemType: String
    public var source: String
    /// Filesystem-specific options: for overlay, `lowerdir=…,upperdir=…,workdir=…` and the rest.
    public var superOptions: String
}

extension MountEntry {
    /// Whether this ext3/ext4 filesystem has a journal: jbd2 lists each journalled device in
    /// `/proc/fs/jbd2` as `<device>-<journal inode>`. nil for other filesystems or when unknown.
    ///
    /// It matters to copy-up figures: without a journal ext4's inode allocator passes over every
    /// inode freed in the last minutes (`recently_deleted`), so creating a file, and with it
    /// every copy-up, slows down after a run deletes its trees.
    public var hasJournal: Bool? {
        guard fileSystemType == "ext4" || fileSystemType == "ext3", source.hasPrefix("/dev/") else { return nil }
        let device = source.split(separator: "/").last.map(String.init) ?? source
        guard let directory = try? FileDescriptor.open("/proc/fs/jbd2", [.readOnly, .directory]) else {
            // No jbd2 directory at all: no filesystem has a journal (or procfs is not mounted).
            return (try? FileDescriptor.currentWorkingDirectory.status(of: "/proc/fs")) == nil ? nil : false
        }
        defer { directory.closeIgnoringErrors() }
        guard let names = try? directory.entries().map(\.name) else { return nil }
        return names.contains { $0.hasPrefix(device + "-") }
    }
}

/// The mount table as `/proc/self/mountinfo` shows it.
public struct MountTable: Sendable {
    public var entries: [MountEntry]

    public static func current() -> MountTable {
        let bytes = (try? FileSystem.readFile("/proc/self/mountinfo")) ?? []
        return MountTable(parsing: String(decoding: bytes, as: UTF8.self))
    }

    public init(parsing text: String) {
        entries = text.split(separator: "\n").compactMap(Self.parse)
    }

    static func parse(_ line: Substring) -> MountEntry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4,
              let id = Int(fields[0]), let parent = Int(fields[1]) else { return nil }
        return MountEntry(
            id: id, parentID: parent,
            mountPoint: unescape(fields[4]), mountOptions: String(fields[5]),
            fileSystemType: String(fields[dash + 1]), source: unescape(fields[dash + 2]),
            superOptions: unescape(fields[dash + 3]))
    }

    /// mountinfo escapes space, tab, newline and backslash as `\ooo` octal.
    static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        let utf8 = Array(field.utf8)
        var i = 0
        while i < utf8.count {
            if utf8[i] == UInt8(ascii: "\\"), i + 3 < utf8.count,
               let value = UInt8(String(decoding: utf8[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(value)
                i += 4
            } else {
                bytes.append(utf8[i])
                i += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The mount whose mount point is `path` exactly (the topmost if stacked).
    public func mount(at path: String) -> MountEntry? {
        entries.last { $0.mountPoint == path }
    }

    /// Mounts at or below `path`, deepest first (the order to unmount them in).
    public func mounts(under path: String) -> [MountEntry] {
        entries.filter { $0.mountPoint == path || $0.mountPoint.hasPrefix(path + "/") }
            .sorted { $0.mountPoint.count > $1.mountPoint.count }
    }

    /// The filesystem that holds `path`: the mount with the longest matching mount point.
    public func backingMount(of path: String) -> MountEntry? {
        entries.filter { $0.mountPoint == "/" || path == $0.mountPoint || path.hasPrefix($0.mountPoint + "/") }
            .max { $0.mountPoint.count < $1.mountPoint.count }
    }
}
