internal import CLiburing
internal import Glibc


extension FileDescriptor {
    /// `copy_file_range(2)` of up to `length` bytes from `source` at `sourceOffset` to this file at
    /// `offset`; returns the bytes copied (0 at the source's end of file).
    public func copyFileRange(from source: FileDescriptor, sourceOffset: Int64, to offset: Int64, length: Int) throws(SystemError) -> Int {
        var input = sourceOffset
        var output = offset
        return try retryingEINTR("copy_file_range") {
            cl_copy_file_range(source.rawValue, &input, rawValue, &output, length, 0)
        }
    }

    /// `sendfile(2)` from `source` at `sourceOffset` to this descriptor's current position.
    public func sendFile(from source: FileDescriptor, sourceOffset: Int64, length: Int) throws(SystemError) -> Int {
        var input = off_t(sourceOffset)
        return try retryingEINTR("sendfile") { Glibc.sendfile(rawValue, source.rawValue, &input, length) }
    }

    /// `splice(2)`; a nil offset uses (and moves) the descriptor's position, as a pipe requires.
    public static func splice(
        from source: FileDescriptor, sourceOffset: Int64?, to destination: FileDescriptor, destinationOffset: Int64?,
        length: Int
    ) throws(SystemError) -> Int {
        var input = sourceOffset ?? 0
        var output = destinationOffset ?? 0
        return try retryingEINTR("splice") {
            withUnsafeMutablePointer(to: &input) { inPtr in
                withUnsafeMutablePointer(to: &output) { outPtr in
                    cl_splice(source.rawValue, sourceOffset == nil ? nil : inPtr,
                              destination.rawValue, destinationOffset == nil ? nil : outPtr,
                              length, UInt32(CL_SPLICE_F_MOVE))
                }
            }
        }
    }

    /// `ioctl(FICLONE)`: makes this file share `source`'s extents (a reflink). Fails with
    /// `EOPNOTSUPP` or `EXDEV` where the filesystem cannot.
    public func cloneContents(of source: FileDescriptor) throws(SystemError) {
        _ = try retryingEINTR("ioctl FICLONE") { cl_ficlone(rawValue, source.rawValue) }
    }
}

