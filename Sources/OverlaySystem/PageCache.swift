internal import CLiburing
internal import Glibc


/// The kernel's caches: `sync(2)` and `/proc/sys/vm/drop_caches`.
public enum PageCache {
    public static let dropCachesPath = "/proc/sys/vm/drop_caches"

    /// `sync(2)`, then writes `3` to `/proc/sys/vm/drop_caches` (page cache, dentries and inodes).
    ///
    /// Overlay dentries pin the lower dentries they were looked up through, so one drop leaves the
    /// lower dentries cached; `passes: 2` drops the overlay's first, then the ones they released.
    public static func drop(passes: Int = 2) throws(SystemError) {
        Glibc.sync()
        for _ in 0..<passes {
            let fd = try FileDescriptor.open(dropCachesPath, .writeOnly)
            defer { fd.closeIgnoringErrors() }
            let value: [UInt8] = Array("3\n".utf8)
            _ = try retryingEINTR("write", path: dropCachesPath) { Glibc.write(fd.rawValue, value, value.count) }
        }
    }

    /// Whether this process may write `drop_caches` (root, and /proc/sys writable).
    public static var canDrop: Bool { access(dropCachesPath, W_OK) == 0 }

    /// `sync(2)`.
    public static func sync() { Glibc.sync() }

    /// Lets the page cache go of the file at `path`: `fdatasync(2)`, so that no page is left
    /// dirty, then `posix_fadvise(POSIX_FADV_DONTNEED)` over the whole file. A file that is
    /// not there (any more) is not an error; a symlink is not followed.
    ///
    /// Where a sample allocates page-cache pages matters on a VM with free page reporting:
    /// memory the guest freed and reported is given back to the host, and the next first touch of
    /// each of its pages traps to the host. On the 2-vCPU development VM a 1 MiB `write(2)` into
    /// a new file took 0.56 ms with little cached and 2.7 ms with 900 MiB of earlier data cached;
    /// releasing that data brought it back to 0.56 ms.
    public static func release(_ path: String) throws(SystemError) {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, [.readOnly, .noFollow])
        } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            throw error
        }
        defer { fd.closeIgnoringErrors() }
        try release(fd, path: path)
    }

    /// ``release(_:)`` of an open file (one opened through a merged view, say).
    public static func release(_ fd: FileDescriptor, path: String) throws(SystemError) {
        _ = try retryingEINTR("fdatasync", path: path) { Glibc.fdatasync(fd.rawValue) }
        do {
            try fd.advise(.dontNeed)
        } catch {
            throw SystemError("posix_fadvise", path: path, errno: error.errno)
        }
    }
}
