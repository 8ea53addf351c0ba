import Glibc

// glibc declares syncfs(2) only under _GNU_SOURCE, which the Glibc module is not built with;
// its C ABI is one int in and one int out, so it is bound by name here.
@_silgen_name("syncfs")
private func system_syncfs(_ fd: CInt) -> CInt

extension FileDescriptor {
    /// `syncfs(2)`: writes back everything dirty on the filesystem that holds this descriptor
    /// (data, inodes, and a journal commit) and waits until it is on the device.
    public func syncFilesystem(path: String? = nil) throws(SystemError) {
        _ = try retryingEINTR("syncfs", path: path) { system_syncfs(rawValue) }
    }
}
