import Synchronization

/// What warm lookups learned about names the upper layer does not hold (`absent`) or hides
/// (`whiteout`): facts that only a namespace change can alter, and every namespace change of the
/// upper layer goes through this overlay (``ReferenceOverlay/withNamespaceLock(_:)``, copy-up's
/// ancestors and install), which calls ``invalidate()``. File attributes are never cached: writes
/// through returned descriptors change them behind the overlay's back.
///
/// A lookup notes the generation before it asks the upper layer and records its verdict only if
/// no change began meanwhile, so a verdict from before a change can never outlive it.
final class UpperVerdictCache: Sendable {
    enum Verdict: Sendable { case absent, whiteout }

    private struct State {
        var generation: UInt64 = 0
        var verdicts: [String: Verdict] = [:]
    }

    /// Past this many verdicts the cache starts over rather than grow without bound.
    static let capacity = 1 << 18

    private let state = Mutex(State())

    /// The cached verdict for the upper path, and the generation to record a new one under.
    func verdict(_ path: String) -> (Verdict?, generation: UInt64) {
        state.withLock { ($0.verdicts[path], $0.generation) }
    }

    /// Records a verdict learned under `generation`, unless the upper layer changed since.
    func record(_ verdict: Verdict, for path: String, generation: UInt64) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.verdicts.count >= Self.capacity { state.verdicts.removeAll(keepingCapacity: true) }
            state.verdicts[path] = verdict
        }
    }

    /// Forgets every verdict: called before and after each change to the upper namespace.
    func invalidate() {
        state.withLock { state in
            state.generation &+= 1
            state.verdicts.removeAll(keepingCapacity: true)
        }
    }
}
