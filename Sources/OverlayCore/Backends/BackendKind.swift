/// The registry of backends by identifier, as `--backend`, suite files and result files name
/// them; the counterpart of ``CopyEngineKind``. A new backend is one type and one case here.
public enum BackendKind: String, CaseIterable, Sendable, Hashable, CustomStringConvertible {
    case kernel
    case fuse
    case plain
    case reference
    case erofs
    case btrfs

    /// Every identifier, in the order above.
    public static var allIdentifiers: [String] { allCases.map(\.rawValue) }

    public var identifier: String { rawValue }
    public var description: String { rawValue }

    /// Makes a backend of this kind; `referenceCopyEngine` (a ``CopyEngineKind`` identifier)
    /// applies to the reference only, which copies up with io_uring by default.
    public func make(referenceCopyEngine: String = CopyEngineKind.ioURing.identifier) -> any OverlayBackend {
        switch self {
        case .kernel: KernelOverlayBackend()
        case .fuse: FuseOverlayBackend()
        case .plain: PlainDirectoryBackend()
        case .reference: ReferenceOverlayBackend(copyEngine: referenceCopyEngine)
        case .erofs: ErofsOverlayBackend()
        case .btrfs: BtrfsSnapshotBackend()
        }
    }

    /// The capabilities a backend of this kind declares with its defaults: what the report and
    /// `choose` ask of a result's `backend` field.
    public var capabilities: BackendCapabilities { make().capabilities }

    /// Makes the backend named `identifier`; throws ``BackendError/unknown(_:)`` for a name not
    /// in ``allIdentifiers``.
    public static func make(
        identifier: String, referenceCopyEngine: String = CopyEngineKind.ioURing.identifier
    ) throws(BackendError) -> any OverlayBackend {
        guard let kind = BackendKind(rawValue: identifier) else { throw .unknown(identifier) }
        return kind.make(referenceCopyEngine: referenceCopyEngine)
    }

    /// The capabilities of the backend a result names, nil for a name this build does not know.
    public static func capabilities(of identifier: String) -> BackendCapabilities? {
        BackendKind(rawValue: identifier)?.capabilities
    }
}
