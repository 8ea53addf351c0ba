import OverlaySystem

/// One backend with one fixed set of mount options (`kernel` with `volatile`, say), so that
/// several option sets of the same backend can be mounted side by side and interleaved sample
/// by sample, as different backends are. It keeps the base backend's identifier; each view it
/// returns reports its options in ``MergedView/requestedOptions``, which probes record as
/// `parameters.mountOptions`.
public struct MountVariantBackend: OverlayBackend {
    public let base: any OverlayBackend
    public let options: OverlayMountOptions

    public init(_ base: any OverlayBackend, options: OverlayMountOptions) {
        self.base = base
        self.options = options
    }

    public var identifier: String { base.identifier }
    public var capabilities: BackendCapabilities { base.capabilities }

    public func availability() -> BackendAvailability { base.availability() }

    /// Mounts with this variant's options; the probe's `options` are ignored.
    public func mount(_ stack: LayerStack, options _: OverlayMountOptions) throws -> any MergedView {
        VariantMergedView(try base.mount(stack, options: options), options: options)
    }

    /// Backends that take overlay mount options (the others accept only the defaults).
    public static func takesMountOptions(_ backend: any OverlayBackend) -> Bool {
        backend.capabilities.takesMountOptions
    }

    /// `backends` × `optionSets`: every option set for backends that take options, the
    /// defaults alone for the others (fuse-overlayfs and plain directories refuse overlay options).
    public static func expand(_ backends: [any OverlayBackend], optionSets: [OverlayMountOptions]) -> [any OverlayBackend] {
        if optionSets == [.defaults] || optionSets.isEmpty { return backends }
        return backends.flatMap { backend -> [any OverlayBackend] in
            takesMountOptions(backend)
                ? optionSets.map { MountVariantBackend(backend, options: $0) }
                : [MountVariantBackend(backend, options: .defaults)]
        }
    }
}

/// A view that forwards to the base backend's view and says which options it was mounted with.
public final class VariantMergedView: MergedView {
    public let inner: any MergedView
    let options: OverlayMountOptions

    init(_ inner: any MergedView, options: OverlayMountOptions) {
        self.inner = inner
        self.options = options
    }

    public var backend: String { inner.backend }
    public var capabilities: BackendCapabilities { inner.capabilities }
    public var setupFacts: [SetupFact] { inner.setupFacts }
    public var root: FileDescriptor { inner.root }
    public var upperPath: String { inner.upperPath }
    public var effectiveOptions: String { inner.effectiveOptions }
    public var mountMethod: String { inner.mountMethod }
    public var requestedOptions: OverlayMountOptions? { options }

    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try inner.open(path, flags, mode: mode)
    }

    public func dropInProcessCaches() { inner.dropInProcessCaches() }

    public func unmount() throws { try inner.unmount() }
}
