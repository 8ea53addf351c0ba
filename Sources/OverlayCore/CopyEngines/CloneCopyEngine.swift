import OverlaySystem

/// Shares the source's extents with `ioctl(FICLONE)`, as copy-up tries first
/// (`vfs_clone_file_range`): O(1) in the file size on xfs with `reflink=1`, btrfs and bcachefs.
///
/// FICLONE clones the whole file, holes included, so ``CopyOptions/skipHoles`` needs no walk.
/// Where the files cannot share extents it throws ``CopyEngineError/unsupported(reason:)``.
public struct CloneCopyEngine: CopyEngine {
    public static let identifier = "clone"

    public init() {}

    public var capabilities: CopyEngineCapabilities { [.holes, .reflink] }

    public func copy(from source: FileDescriptor, to destination: FileDescriptor, length: Int64, options: CopyOptions) throws -> CopyResult {
        let size = try source.status().size
        var syscalls = 2
        do {
            try destination.cloneContents(of: source)
        } catch {
            guard let meaning = Self.unsupportedErrors[error.errno] else { throw error }
            throw CopyEngineError.unsupported(reason: "FICLONE failed with \(error.errno.name): \(meaning)")
        }
        // FICLONE always clones the whole file; a shorter request keeps only its prefix.
        if length < size {
            try destination.truncate(to: length)
            syscalls += 1
        }
        if options.fsync {
            try destination.fsync()
            syscalls += 1
        }
        return CopyResult(bytesCopied: min(length, size), method: Self.identifier, syscalls: syscalls)
    }

    /// What each refusal of `ioctl_ficlone(2)` means.
    static let unsupportedErrors: [Errno: String] = [
        .notSupported: "this filesystem cannot share extents (reflinks need e.g. xfs with reflink=1, btrfs or bcachefs; ext4 and tmpfs have none)",
        .crossDeviceLink: "the source and destination are on different filesystems, and a reflink cannot cross them",
        .invalidArgument: "the filesystem refused to clone these files (EINVAL: unaligned range, or a file type it cannot clone)",
    ]
}
