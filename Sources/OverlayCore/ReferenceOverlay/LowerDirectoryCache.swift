import OverlaySystem
import Synchronization

/// Open `O_PATH` directories of the lower layers, which never change while the overlay is open
/// (see ``LowerLayerIndex``), so nothing ever invalidates them; bounded like the upper cache.
final class LowerDirectoryCache: Sendable {
    private struct Key: Hashable {
        var layer: Int
        var path: String
    }

    static let capacity = 1024

    private let directories = Mutex<[Key: DirectoryHandle]>([:])

    /// The directory `path` of lower layer `layer`: cached, or opened with `open` and cached.
    func directory(_ path: String, layer: Int, open: () throws(SystemError) -> FileDescriptor) throws(SystemError) -> DirectoryHandle {
        let key = Key(layer: layer, path: path)
        if let cached = directories.withLock({ $0[key] }) { return cached }
        let handle = DirectoryHandle(try open())
        return directories.withLock { directories in
            if let cached = directories[key] { return cached }
            if directories.count >= Self.capacity { directories.removeAll(keepingCapacity: true) }
            directories[key] = handle
            return handle
        }
    }

    /// Lets go of every directory (each closes once no lookup holds it).
    func removeAll() {
        directories.withLock { $0.removeAll() }
    }
}
