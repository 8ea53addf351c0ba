internal import CLiburing
internal import Glibc

extension FileDescriptor {
    /// Moves the file position to `offset` (`lseek(2)` with `SEEK_SET`); what ``sendFile(from:sourceOffset:length:)``
    /// writes at. Returns the new position.
    @discardableResult
    public func seek(to offset: Int64) throws(SystemError) -> Int64 {
        let result = lseek(rawValue, off_t(offset), SEEK_SET)
        if result < 0 { throw SystemError("lseek", errno: Errno(rawValue: systemErrno())) }
        return Int64(result)
    }
}
