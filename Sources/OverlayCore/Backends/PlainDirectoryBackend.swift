import OverlaySystem

/// The same stack flattened into one ordinary directory, `<stack directory>/plain`: what Docker's
/// `vfs` storage driver gives a container. There is no overlay at all, so it is the baseline every
/// overlay cost is measured against.
///
/// The first ``mount(_:options:)`` copies the lower layers bottom-up, then the upper, with
/// ``LayerFlattener`` (whiteouts delete, opaque directories replace); later mounts of the same
/// stack reuse the directory, as a vfs container keeps its root filesystem. Writes land in it
/// directly, so it is also the view's ``MergedView/upperPath``.
public struct PlainDirectoryBackend: OverlayBackend {
    public let identifier = "plain"
    public static let capabilities = BackendCapabilities(
        layered: false, whiteoutFormat: .none, metacopy: false, clone: false, fsyncsCopyUp: false, needsRoot: false,
        copiesLayers: true, takesMountOptions: false)
    public var capabilities: BackendCapabilities { Self.capabilities }

    public init() {}

    public func availability() -> BackendAvailability { .available }

    /// Where the flattened copy of `stack` lives: beside its `overlay2` directory.
    public static func directory(for stack: LayerStack) -> String {
        let parent = stack.root.split(separator: "/").dropLast().joined(separator: "/")
        return "/" + parent + "/plain"
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if !options.options.isEmpty {
            throw BackendError.mountFailed(identifier, "overlay mount options (\(options.description)) do not apply to a plain directory")
        }
        let target = Self.directory(for: stack)
        let cwd = FileDescriptor.currentWorkingDirectory
        switch Result(catching: { () throws(SystemError) -> FileStatus in try cwd.status(of: target) }) {
        case .success(let status) where status.type == .directory:
            break
        case .success:
            throw BackendError.mountFailed(identifier, "\(target) exists and is not a directory")
        case .failure(let error) where error.errno == .noSuchFileOrDirectory:
            try cwd.makeDirectory(target, mode: 0o755)
            for layer in stack.lowerPaths.reversed() + [stack.upperPath] {
                // An adopted stack's `diff` is a symlink to the real layer (LayerStack.adopting),
                // and the flattener refuses to follow symlinks: resolve the layer itself only.
                try LayerFlattener.apply((try? Host.realPath(layer)) ?? layer, onto: target)
            }
            PageCache.sync()
        case .failure(let error):
            throw error
        }
        return try PlainMergedView(directory: target)
    }
}

/// A flattened directory, open.
final class PlainMergedView: MergedView {
    let backend = "plain"
    var capabilities: BackendCapabilities { PlainDirectoryBackend.capabilities }
    let root: FileDescriptor
    let upperPath: String
    let effectiveOptions = ""
    let mountMethod = "copy (vfs)"
    private var isOpen = true

    init(directory: String) throws {
        upperPath = directory
        root = try FileDescriptor.open(directory, [.readOnly, .directory, .noFollow])
    }

    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(path, flags, mode: mode, relativeTo: root)
    }

    /// Nothing is mounted: this only closes the root.
    func unmount() throws {
        guard isOpen else { return }
        isOpen = false
        root.closeIgnoringErrors()
    }

    deinit { if isOpen { root.closeIgnoringErrors() } }
}
