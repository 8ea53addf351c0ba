import OverlayCore

/// Backends by their short identifier, as `--backend` names them.
public enum BackendRegistry {
    public static let identifiers = ["kernel"]

    public static func make(_ identifier: String) throws(BackendError) -> any OverlayBackend {
        switch identifier {
        case "kernel": KernelOverlayBackend()
        default: throw .unknown(identifier)
        }
    }
}
