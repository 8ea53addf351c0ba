import OverlaySystem

/// A way to present a ``LayerStack`` as one merged tree: the kernel overlay, fuse-overlayfs, a
/// plain directory, the in-process reference, EROFS layers under an overlay, or btrfs snapshots. Probes run the same workload on each.
public protocol OverlayBackend: Sendable {
    /// The stable short identifier the CLI and result files use (`kernel`, `fuse`, `plain`,
    /// `reference`, `erofs`, `btrfs`); ``BackendKind`` lists them.
    var identifier: String { get }

    /// What it does and needs; the probes ask this instead of the identifier.
    var capabilities: BackendCapabilities { get }

    /// Whether this backend can run here, and if not, why.
    func availability() -> BackendAvailability

    /// Presents the stack's merged view. The caller must ``MergedView/unmount()`` it;
    /// ``withMergedView(_:_:options:_:)`` does that on every path.
    func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView

    /// The same backend presenting every owner shifted by `mapping`, by the mechanism its
    /// ``BackendCapabilities/ownerShift`` names; nil for a backend that has none.
    func shiftingOwners(_ mapping: IDMapping) -> (any OverlayBackend)?
}

extension OverlayBackend {
    public func shiftingOwners(_ mapping: IDMapping) -> (any OverlayBackend)? { nil }
}

public enum BackendAvailability: Sendable, Equatable {
    case available
    case unavailable(String)
}

/// A mounted (or otherwise live) merged view of a layer stack.
public protocol MergedView: AnyObject {
    var backend: String { get }
    /// The capabilities of the backend that mounted it.
    var capabilities: BackendCapabilities { get }
    /// The merged root directory, open; paths in probes resolve relative to it.
    var root: FileDescriptor { get }
    /// Where copy-ups land (the upper directory).
    var upperPath: String { get }
    /// The options the mount actually has, read back from `/proc/self/mountinfo` where there is one.
    var effectiveOptions: String { get }
    /// How it was mounted, e.g. `mount(2)`, `fsconfig(lowerdir+)`.
    var mountMethod: String { get }
    /// The options this view was asked for when they differ per view (``MountVariantBackend``);
    /// nil means the probe's configured options.
    var requestedOptions: OverlayMountOptions? { get }
    /// What setting the view up took, outside the clock (each EROFS image's size and build
    /// time); recorded with the mount in the result's environment. Empty for most backends.
    var setupFacts: [SetupFact] { get }

    /// Forgets what the view caches inside this process (the reference overlay's lookups), so
    /// that a cold sample is as cold through it as through a kernel mount after `drop_caches`.
    /// A mount caches nothing here: the kernel's caches are dropped by the sampler.
    func dropInProcessCaches()

    /// Opens `path` (relative to the merged root) as a process in the container would.
    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor

    /// Tears the view down; after this the view must not be used.
    func unmount() throws
}

extension MergedView {
    public var requestedOptions: OverlayMountOptions? { nil }
    public func dropInProcessCaches() {}
    public var setupFacts: [SetupFact] { [] }
}

/// One figure about how a view was set up, taken outside the clock: `imageBytes` of lower
/// layer 0, say. Layers are numbered top-first, as `lowerdir=` lists them.
public struct SetupFact: Sendable, Hashable, Codable {
    public var name: String
    /// The lower layer it belongs to, nil for the view as a whole.
    public var layer: Int?
    public var value: Double
    public var unit: String
    /// How the figure came about, when that varies (`file-backed`, `loop /dev/loop3`).
    public var note: String?

    public init(name: String, layer: Int? = nil, value: Double, unit: String, note: String? = nil) {
        self.name = name
        self.layer = layer
        self.value = value
        self.unit = unit
        self.note = note
    }
}

/// Mounts `stack` with `backend`, runs `body`, and always unmounts, on success, on error and
/// after an interruption. An unmount error never hides the error that `body` threw.
public func withMergedView<T>(
    _ backend: any OverlayBackend, _ stack: LayerStack, options: OverlayMountOptions,
    _ body: (any MergedView) throws -> T
) throws -> T {
    let view = try backend.mount(stack, options: options)
    let result: T
    do {
        result = try body(view)
    } catch {
        try? view.unmount()
        throw error
    }
    try view.unmount()
    return result
}

/// Runs every step of a teardown in order, even after one fails, and throws the first error:
/// an overlay before the mounts under it, so that a failed unmount never leaves the rest mounted
/// and a later error never hides the first.
func tearDownInOrder(_ steps: [() throws -> Void]) throws {
    var firstError: (any Error)?
    for step in steps {
        do { try step() } catch { if firstError == nil { firstError = error } }
    }
    if let firstError { throw firstError }
}
