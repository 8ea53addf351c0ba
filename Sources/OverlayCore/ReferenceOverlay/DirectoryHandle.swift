import OverlaySystem

/// A directory open `O_PATH` that lookups share; its descriptor is closed when the last holder
/// lets go, so the cache can drop it while a lookup still uses it. A borrowed descriptor (a
/// layer's root) is left open.
final class DirectoryHandle: Sendable {
    let descriptor: FileDescriptor
    private let owned: Bool

    init(_ descriptor: FileDescriptor) {
        self.descriptor = descriptor
        owned = true
    }

    init(borrowing descriptor: FileDescriptor) {
        self.descriptor = descriptor
        owned = false
    }

    deinit { if owned { descriptor.closeIgnoringErrors() } }
}
