internal import CLiburing
internal import Glibc

/// How a file's data sits on disk, from `ioctl(FS_IOC_FIEMAP)`: the bytes in extents the
/// filesystem flags `FIEMAP_EXTENT_SHARED` (a reflink or a snapshot shares them) and the bytes
/// in extents it does not, which are this file's own new data.
public struct ExtentSharing: Sendable, Hashable {
    public var extents = 0
    public var sharedBytes: Int64 = 0
    public var unsharedBytes: Int64 = 0

    public init() {}

    public var mappedBytes: Int64 { sharedBytes + unsharedBytes }
}

extension FileDescriptor {
    /// Maps the whole file with `ioctl(FS_IOC_FIEMAP)`, `FIEMAP_FLAG_SYNC` first so that data
    /// still in the page cache has extents to report, and sums the extents by their
    /// `FIEMAP_EXTENT_SHARED` flag (Documentation/filesystems/fiemap.rst).
    public func extentSharing(path: String? = nil) throws(SystemError) -> ExtentSharing {
        let capacity = 256
        var logical = [UInt64](repeating: 0, count: capacity)
        var length = [UInt64](repeating: 0, count: capacity)
        var flags = [UInt32](repeating: 0, count: capacity)
        var result = ExtentSharing()
        var start: UInt64 = 0
        var syncFlag = CL_FIEMAP_FLAG_SYNC
        while true {
            let mapped = try retryingEINTR("ioctl FS_IOC_FIEMAP", path: path) {
                cl_fiemap(rawValue, start, syncFlag, &logical, &length, &flags, UInt32(capacity))
            }
            // One sync covers the file; the later batches only map.
            syncFlag = 0
            if mapped == 0 { return result }
            for i in 0..<Int(mapped) {
                result.extents += 1
                if flags[i] & CL_FIEMAP_EXTENT_SHARED != 0 {
                    result.sharedBytes += Int64(length[i])
                } else {
                    result.unsharedBytes += Int64(length[i])
                }
                if flags[i] & CL_FIEMAP_EXTENT_LAST != 0 { return result }
            }
            let last = Int(mapped) - 1
            start = logical[last] + length[last]
        }
    }
}
