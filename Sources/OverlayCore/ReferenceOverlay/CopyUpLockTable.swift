import Foundation

/// The in-flight table that makes concurrent copy-ups of one path happen once, as the kernel's
/// per-inode lock does (`ovl_copy_up_start`, fs/overlayfs/util.c). Different paths copy up in
/// parallel.
///
/// A caller locks a path, then checks whether the copy-up already happened (a writer that waited
/// finds the upper file and does nothing). Entries live only while someone holds or waits for
/// them.
final class CopyUpLockTable: @unchecked Sendable {
    private final class Entry {
        let lock = NSLock()
        var users = 0
    }

    private let tableLock = NSLock()
    private var table: [String: Entry] = [:]

    /// Runs `body` holding the lock for `path`.
    func withLock<T, E: Error>(_ path: String, _ body: () throws(E) -> T) throws(E) -> T {
        tableLock.lock()
        let entry: Entry
        if let existing = table[path] {
            entry = existing
        } else {
            entry = Entry()
            table[path] = entry
        }
        entry.users += 1
        tableLock.unlock()

        entry.lock.lock()
        defer {
            entry.lock.unlock()
            tableLock.lock()
            entry.users -= 1
            if entry.users == 0 { table[path] = nil }
            tableLock.unlock()
        }
        return try body()
    }

    /// Paths with a copy-up in flight or waited for (tests).
    var inFlight: Int {
        tableLock.lock()
        defer { tableLock.unlock() }
        return table.count
    }
}
