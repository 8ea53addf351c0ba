import OverlaySystem
import Synchronization

/// The lower layers whose files the upper layer cannot clone (`FICLONE` refused with
/// `EOPNOTSUPP`, `EXDEV` or `EINVAL`): a property of the two filesystems, so copy-up stops
/// asking. Other failures are not remembered.
final class CloneRefusals: Sendable {
    private let layers = Mutex(Set<Int>())

    static let permanent: Set<Errno> = [.notSupported, .crossDeviceLink, .invalidArgument]

    func mayClone(fromLayer layer: Int) -> Bool { !layers.withLock { $0.contains(layer) } }

    func note(_ errno: Errno, fromLayer layer: Int) {
        guard Self.permanent.contains(errno) else { return }
        _ = layers.withLock { $0.insert(layer) }
    }
}
