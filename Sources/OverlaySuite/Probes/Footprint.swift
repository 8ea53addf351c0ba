import OverlayCore
import OverlaySystem

/// The disk a directory tree takes: allocated bytes (`st_blocks` × 512) and inodes, each inode
/// counted once however many names it has (overlay hard-links every whiteout to one shared
/// inode in the work directory, xfstests overlay/073). The root itself is not counted.
public struct Footprint: Sendable, Hashable {
    public var bytes: Int64 = 0
    public var inodes: Int = 0

    public init(bytes: Int64 = 0, inodes: Int = 0) {
        self.bytes = bytes
        self.inodes = inodes
    }

    /// Walks `directory` without following symlinks; a missing directory is empty.
    public static func measure(_ directory: String) throws -> Footprint {
        var seen = Set<UInt64>()
        var result = Footprint()
        let cwd = FileDescriptor.currentWorkingDirectory
        guard let top = try? cwd.status(of: directory), top.type == .directory else { return result }
        var pending = [directory]
        while let path = pending.popLast() {
            let fd = try FileDescriptor.open(path, [.readOnly, .directory, .noFollow])
            defer { fd.closeIgnoringErrors() }
            for entry in try fd.entries() {
                let status = try fd.status(of: entry.name)
                if status.type == .directory { pending.append(path + "/" + entry.name) }
                guard seen.insert(status.inode).inserted else { continue }
                result.inodes += 1
                result.bytes += status.allocatedBytes
            }
        }
        return result
    }

    public static func - (lhs: Footprint, rhs: Footprint) -> Footprint {
        Footprint(bytes: lhs.bytes - rhs.bytes, inodes: lhs.inodes - rhs.inodes)
    }

    /// Records `upperBytes`, `upperInodes`, `workBytes` and `workInodes` for one view after its
    /// samples, with `parameters` plus `scope=run`. A backend that is not layered (a plain
    /// directory) has no work directory: its `upper` is the whole flattened tree, which is what a
    /// vfs container costs.
    static func record(
        probe: String, view: any MergedView, workPath: String, parameters: [String: ParameterValue], book: SampleBook
    ) throws {
        var parameters = parameters
        parameters["scope"] = "run"
        let upper = try measure(view.upperPath)
        let work = view.capabilities.layered ? try measure(workPath) : Footprint()
        for (metric, value, unit) in [
            ("upperBytes", Double(upper.bytes), "bytes"), ("upperInodes", Double(upper.inodes), "inodes"),
            ("workBytes", Double(work.bytes), "bytes"), ("workInodes", Double(work.inodes), "inodes"),
        ] {
            book.record(value, for: .init(probe: probe, backend: view.backend, metric: metric, unit: unit, parameters: parameters))
        }
    }
}
