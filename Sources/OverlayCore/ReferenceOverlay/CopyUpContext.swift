import OverlaySystem

/// How much of a file a copy-up must bring up.
public enum CopyUpData: Sendable {
    /// Metadata only when `metacopy=on` (chmod, chown, utimes, xattrs, link, rename); else all.
    case metadata
    /// Data and metadata (open for write, truncate).
    case full
    /// Open with `O_TRUNC`: the data would be thrown away, so none is copied (the kernel sets
    /// the copy's size to 0).
    case truncated
}

/// Everything one copy-up works on, as `struct ovl_copy_up_ctx` in fs/overlayfs/copy_up.c:
/// the source in its lower layer, the upper directory it goes into, and the temporary it is
/// built in before it is installed.
struct CopyUpContext {
    /// The merged path; in upper the file lands at the same path.
    let path: String
    let name: String
    /// The lower entry being copied.
    let source: LayerEntry
    let sourceLayer: ReferenceLayer
    var status: FileStatus { source.status }
    /// The upper directory that receives the copy, open `O_PATH`.
    let upperParent: DirectoryHandle
    /// Copy metadata only and mark the file `trusted.overlay.metacopy`.
    let metacopy: Bool
    /// Bytes of data to copy: the file's size, or 0 for ``CopyUpData/truncated``.
    let length: Int64

    /// A regular file is built as an `O_TMPFILE` (no name until it is linked into upper);
    /// anything else under ``temporaryName`` in the work directory.
    var temporary: FileDescriptor?
    var temporaryName: String?
    /// The source, open for reading, once the data phase has opened it.
    var sourceFile: FileDescriptor?

    var usesTmpfile: Bool { status.type == .regular }

    func close() {
        temporary?.closeIgnoringErrors()
        sourceFile?.closeIgnoringErrors()
    }
}
