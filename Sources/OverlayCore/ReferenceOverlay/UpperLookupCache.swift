import OverlaySystem
import Synchronization

/// What warm lookups learned about the upper layer's namespace, kept until it changes: names it
/// does not hold (`absent`) or hides (`whiteout`), and its directories open `O_PATH`, so a walk
/// through upper makes one `statx(2)` per name instead of opening and closing each parent.
///
/// Every change to the upper namespace goes through this overlay (``ReferenceOverlay/withNamespaceLock(_:)``
/// and copy-up's install), which brackets it with ``beginChange()`` and ``endChange()`` or
/// ``endChange(adding:)``. While any change is in progress the cache neither answers nor learns,
/// so a change's own lookups see the layer as it is. A lookup notes the generation before it
/// asks the layer and records what it found only if no change began meanwhile, so nothing
/// learned before a change outlives it. File attributes are never cached: writes through
/// returned descriptors change them behind the overlay's back.
final class UpperLookupCache: Sendable {
    enum Verdict: Sendable { case absent, whiteout }

    /// When a lookup asked; pass it back to ``record(_:for:since:)`` and ``directory(_:since:open:)``.
    struct Ticket: Sendable {
        fileprivate let generation: UInt64
        fileprivate let open: Bool
    }

    private struct State {
        var generation: UInt64 = 0
        var changesInProgress = 0
        var verdicts: [String: Verdict] = [:]
        var directories: [String: DirectoryHandle] = [:]
        /// `trusted.overlay.*` marks of upper directories (opaque, redirect), by path and name.
        var marks: [MarkKey: [UInt8]?] = [:]

        func isCurrent(_ ticket: Ticket) -> Bool {
            ticket.open && changesInProgress == 0 && generation == ticket.generation
        }

        mutating func finishChange() {
            precondition(changesInProgress > 0, "an upper namespace change ended that never began")
            changesInProgress -= 1
            generation &+= 1
        }
    }

    struct MarkKey: Hashable, Sendable {
        var path: String
        var name: String
    }

    /// Past this many verdicts (or marks) the cache starts over rather than grow without bound.
    static let verdictCapacity = 1 << 18
    /// Past this many open directories likewise: each holds a descriptor.
    static let directoryCapacity = 512

    private let state = Mutex(State())

    /// A ticket for a lookup starting now.
    func ticket() -> Ticket {
        state.withLock { Ticket(generation: $0.generation, open: $0.changesInProgress == 0) }
    }

    /// The cached verdict for an upper path (nil while a change is in progress), and the ticket
    /// to record a new one under.
    func verdict(_ path: String) -> (Verdict?, ticket: Ticket) {
        state.withLock { state in
            let ticket = Ticket(generation: state.generation, open: state.changesInProgress == 0)
            return (ticket.open ? state.verdicts[path] : nil, ticket)
        }
    }

    /// Records a verdict learned under `ticket`, unless the upper layer changed since.
    func record(_ verdict: Verdict, for path: String, since ticket: Ticket) {
        state.withLock { state in
            guard state.isCurrent(ticket) else { return }
            if state.verdicts.count >= Self.verdictCapacity { state.verdicts.removeAll(keepingCapacity: true) }
            state.verdicts[path] = verdict
        }
    }

    /// The upper directory `path` open `O_PATH`: cached, or opened with `open` now and cached if
    /// the namespace did not change since `ticket`. The handle keeps its descriptor open for as
    /// long as the caller holds it, even if the cache lets go meanwhile.
    func directory(_ path: String, since ticket: Ticket, open: () throws(SystemError) -> FileDescriptor) throws(SystemError) -> DirectoryHandle {
        if ticket.open, let cached = state.withLock({ $0.isCurrent(ticket) ? $0.directories[path] : nil }) {
            return cached
        }
        let handle = DirectoryHandle(try open())
        state.withLock { state in
            guard state.isCurrent(ticket) else { return }
            if state.directories.count >= Self.directoryCapacity { state.directories.removeAll(keepingCapacity: true) }
            state.directories[path] = handle
        }
        return handle
    }

    /// The overlay's private xattr `name` of the upper directory `path` (its opaque or redirect
    /// mark), cached, or read with `read` now and cached if the namespace did not change since
    /// `ticket`. Only the overlay sets these marks, and only inside namespace changes.
    func mark(_ name: String, of path: String, since ticket: Ticket, read: () throws(SystemError) -> [UInt8]?) throws(SystemError) -> [UInt8]? {
        let key = MarkKey(path: path, name: name)
        if ticket.open, let cached = state.withLock({ $0.isCurrent(ticket) ? $0.marks[key] : nil }) {
            return cached
        }
        let value = try read()
        state.withLock { state in
            guard state.isCurrent(ticket) else { return }
            if state.marks.count >= Self.verdictCapacity { state.marks.removeAll(keepingCapacity: true) }
            state.marks[key] = .some(value)
        }
        return value
    }

    /// A change to the upper namespace starts: until it ends nothing is answered or learned.
    func beginChange() {
        state.withLock { state in
            state.changesInProgress += 1
            state.generation &+= 1
        }
    }

    /// The change ended; anything might have moved, so everything is forgotten.
    func endChange() {
        state.withLock { state in
            state.finishChange()
            state.verdicts.removeAll(keepingCapacity: true)
            state.directories.removeAll(keepingCapacity: true)
            state.marks.removeAll(keepingCapacity: true)
        }
    }

    /// Forgets everything, as a freshly opened overlay starts; a lookup under an earlier ticket
    /// records nothing.
    func removeAll() {
        state.withLock { state in
            state.generation &+= 1
            state.verdicts.removeAll()
            state.directories.removeAll()
            state.marks.removeAll()
        }
    }

    /// The change ended, and all it did was add `path` (copy-up's install): only that name's
    /// verdict is stale. Directories already open still name the same directories.
    func endChange(adding path: String) {
        state.withLock { state in
            state.finishChange()
            state.verdicts[path] = nil
        }
    }
}
