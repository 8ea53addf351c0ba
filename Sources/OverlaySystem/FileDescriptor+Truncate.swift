internal import Glibc

extension FileDescriptor {
    /// `truncate(2)` of `path` relative to this directory, without opening it (so an overlay
    /// copies up through `ovl_setattr`, not through an open for write).
    ///
    /// Linux has no `truncateat`; a relative path is reached through `/proc/self/fd/<fd>/`, as
    /// ``ExtendedAttributes/path(_:in:)`` does.
    public func truncate(_ path: String, to size: Int64) throws(SystemError) {
        let full = rawValue == AT_FDCWD || path.hasPrefix("/") ? path : "/proc/self/fd/\(rawValue)/\(path)"
        _ = try retryingEINTR("truncate", path: path) { Glibc.truncate(full, off_t(size)) }
    }
}
