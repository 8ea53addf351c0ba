import OverlaySystem
import Synchronization

/// What the lower layers hold for one lookup, remembered for as long as the overlay is open.
///
/// The lower layers are read-only while an overlay is mounted (overlayfs.rst, "Changes to
/// underlying filesystems"), so what a lookup finds below the upper layer for one list of lower
/// directories and one name never changes. The index remembers that walk: the lower entries
/// found from the top down, ending at a non-directory, an opaque directory, a whiteout (left out)
/// or the bottom. The upper layer is not indexed: ``ReferenceOverlay/lookup(_:in:)`` consults
/// it live on every call and then applies the merge rules to the indexed walk.
///
/// Keys: each remembered walk has an id that is never reused, and a directory's lower part is a
/// prefix of one walk (``LowerSlice``), so a child's key is the parent's slice and the name
/// looked up in it; an absolute redirect restarts from every lower root and is keyed by its
/// path. The statuses are those of the first walk: a lower inode's access time is not refreshed.
///
/// Thread-safe; bounded by dropping everything when ``capacity`` keys are held (entries that
/// still carry a dropped id simply miss and walk again).
final class LowerLayerIndex: Sendable {
    /// What one lower walk starts from.
    enum Key: Hashable, Sendable {
        /// The name (or same-directory redirect) looked up in the lower directories `parent` holds.
        case child(parent: LowerSlice, name: String)
        /// An absolute redirect, looked up from every lower root.
        case absolute(String)
    }

    /// One remembered walk.
    struct Walk: Sendable {
        /// nil for a walk made outside the index (its parent had no ``LowerSlice``).
        let id: Int?
        /// Top-first; all but the last are directories that are not opaque.
        let found: [LayerEntry]
    }

    private struct State {
        var walks: [Key: Walk] = [:]
        var nextID = 1
    }

    static let capacity = 1 << 18
    /// The walk of the merged root: every lower root (id 0, never dropped).
    let root: Walk
    private let state = Mutex(State())

    init(rootLowers: [LayerEntry]) {
        root = Walk(id: 0, found: rootLowers)
    }

    /// The remembered walk for `key`, or the one `walk` finds (remembered if it succeeds).
    func walk(_ key: Key, _ walk: () throws(SystemError) -> [LayerEntry]) throws(SystemError) -> Walk {
        if let known = state.withLock({ $0.walks[key] }) { return known }
        let found = try walk()
        return state.withLock { state in
            if let known = state.walks[key] { return known }
            if state.walks.count >= Self.capacity { state.walks.removeAll(keepingCapacity: true) }
            let walk = Walk(id: state.nextID, found: found)
            state.nextID += 1
            state.walks[key] = walk
            return walk
        }
    }

    /// Forgets every walk but the root's; ids keep counting, so an entry that still carries a
    /// forgotten id misses and walks again.
    func removeAll() {
        state.withLock { $0.walks.removeAll() }
    }
}

/// The lower directories of a merged directory as a prefix of one remembered walk: they are
/// `found[0..<count]` of the walk with id `walk`.
struct LowerSlice: Hashable, Sendable {
    var walk: Int
    var count: Int
}
