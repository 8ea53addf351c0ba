import OverlayCore

/// Backends by their short identifier, as `--backend` names them.
public enum BackendRegistry {
    public static let identifiers = ["kernel", "fuse", "plain", "reference"]

    public static func make(_ identifier: String) throws(BackendError) -> any OverlayBackend {
        switch identifier {
        case "kernel": KernelOverlayBackend()
        case "fuse": FuseOverlayBackend()
        case "plain": PlainDirectoryBackend()
        case "reference": ReferenceOverlayBackend()
        default: throw .unknown(identifier)
        }
    }
}
