import OverlaySystem

/// The in-process ``ReferenceOverlay`` on the stack's own upper, work and lower directories.
/// Nothing is mounted: the view's ``MergedView/open(_:_:mode:)`` does the reference's lookup and
/// copy-up and returns a descriptor of the real file, so copy-ups land in the stack's upper
/// directory exactly where the kernel's would.
public struct ReferenceOverlayBackend: OverlayBackend {
    public let identifier = "reference"
    /// The ``CopyEngineKind`` identifier that copies data at copy-up.
    public let copyEngine: String

    public init(copyEngine: String = CopyEngineKind.ioURing.identifier) {
        self.copyEngine = copyEngine
    }

    /// It clones only when its copy engine is the clone engine.
    public static func capabilities(copyEngine: String) -> BackendCapabilities {
        BackendCapabilities(
            layered: true, whiteoutFormat: .overlay, metacopy: true, clone: copyEngine == CopyEngineKind.clone.identifier,
            fsyncsCopyUp: true, needsRoot: true, takesMountOptions: true, mergedDirectory: false, server: .inProcess)
    }

    public var capabilities: BackendCapabilities { Self.capabilities(copyEngine: copyEngine) }

    public func availability() -> BackendAvailability {
        if CopyEngineKind(rawValue: copyEngine) == nil { return .unavailable("unknown copy engine \(copyEngine)") }
        // Whiteouts are device nodes and the private xattrs are trusted.*: both need root.
        if !Host.isRoot { return .unavailable("whiteouts (mknod) and trusted.overlay.* xattrs need root") }
        return .available
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if case .unavailable(let why) = availability() { throw BackendError.unavailable(identifier, why) }
        let unsupported = options.options.map(\.name).filter { !["metacopy", "redirect_dir", "volatile", "index", "xino"].contains($0) }
        if !unsupported.isEmpty {
            throw BackendError.mountFailed(identifier, "the reference overlay does not implement \(unsupported.joined(separator: ", "))")
        }
        let overlay = try ReferenceOverlay(
            lower: stack.lowerPaths, upper: stack.upperPath, work: stack.workPath,
            options: ReferenceOverlayOptions(mountOptions: options, copyEngine: copyEngine))
        return try ReferenceMergedView(overlay: overlay)
    }
}

/// A live reference overlay.
public final class ReferenceMergedView: MergedView {
    public let backend = "reference"
    public var capabilities: BackendCapabilities { ReferenceOverlayBackend.capabilities(copyEngine: overlay.options.copyEngine) }
    public let overlay: ReferenceOverlay
    /// The upper root, open `O_PATH`: there is no merged directory to open. Paths must go
    /// through ``open(_:_:mode:)`` or ``overlay``.
    public let root: FileDescriptor
    public var upperPath: String { overlay.upperPath }
    public var effectiveOptions: String {
        "lowerdir=\(overlay.lowerPaths.joined(separator: ":")),upperdir=\(overlay.upperPath),workdir=\(overlay.workPath),\(overlay.options)"
    }
    public let mountMethod = "in-process"

    init(overlay: ReferenceOverlay) throws {
        self.overlay = overlay
        root = try FileDescriptor.open(overlay.upperPath, [.path, .directory])
    }

    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try overlay.open(path, flags, mode: mode)
    }

    /// A fresh overlay's lookup caches (``ReferenceOverlay/dropLookupCaches()``).
    public func dropInProcessCaches() { overlay.dropLookupCaches() }

    private var isOpen = true

    public func unmount() throws {
        guard isOpen else { return }
        root.closeIgnoringErrors()
        isOpen = false
    }

    deinit { if isOpen { root.closeIgnoringErrors() } }
}
