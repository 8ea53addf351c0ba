import Foundation
import OverlaySystem

/// Copy engines of one kind, one per concurrent copy-up: an engine keeps a ring and buffers
/// and serves one thread at a time (``CopyEngine``), so parallel copy-ups each borrow their own.
final class CopyEnginePool: @unchecked Sendable {
    let identifier: String
    private let lock = NSLock()
    private var idle: [any CopyEngine] = []

    /// Checks the identifier at once, so a bad one fails when the overlay is made.
    init(identifier: String) throws {
        guard CopyEngineKind(rawValue: identifier) != nil else { throw CopyEngineError.unknownEngine(identifier: identifier) }
        self.identifier = identifier
    }

    /// Runs `body` with an engine no other thread is using; errors other than `SystemError`
    /// become `EIO`, as a failed copy-up reports to the caller.
    func withEngine<T>(path: String, _ body: (any CopyEngine) throws -> T) throws(SystemError) -> T {
        lock.lock()
        var engine = idle.popLast()
        lock.unlock()
        do {
            if engine == nil { engine = try CopyEngineKind.make(identifier: identifier) }
            let result = try body(engine!)
            lock.lock()
            idle.append(engine!)
            lock.unlock()
            return result
        } catch let error as SystemError {
            throw error
        } catch {
            throw SystemError("copy-up data (\(identifier)): \(error)", path: path, errno: .ioError)
        }
    }
}
