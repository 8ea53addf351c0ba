import Foundation
import OverlaySystem

/// Diagnostics on standard error (never standard output, which may carry JSON): plain log lines
/// when stderr is not a terminal, a self-rewriting progress line when it is.
public final class ProgressLog: @unchecked Sendable {
    public enum Level: Int, Comparable, Sendable {
        case quiet, normal, verbose
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
    }

    private let level: Level
    private let isTerminal: Bool
    private let lock = NSLock()
    private let started = Date()
    private var lastProgressLine = ""
    private var progressStart: [String: Date] = [:]
    private var lastPlainLine = Date.distantPast

    public init(level: Level = .normal) {
        self.level = level
        self.isTerminal = FileDescriptor.standardError.isTerminal
    }

    public func info(_ message: String) {
        guard level >= .normal else { return }
        emit("[\(elapsed())] \(message)")
    }

    public func warning(_ message: String) { emit("warning: \(message)") }

    public func verbose(_ message: String) {
        guard level >= .verbose else { return }
        emit("[\(elapsed())] \(message)")
    }

    /// A progress report: a bar with an ETA on a terminal, a line per step otherwise.
    public func progress(_ task: String, done: Int, of total: Int) {
        guard level >= .normal, total > 0 else { return }
        lock.lock()
        let begin = progressStart[task] ?? Date()
        if progressStart[task] == nil { progressStart[task] = begin }
        lock.unlock()
        let fraction = Double(done) / Double(total)
        let spent = Date().timeIntervalSince(begin)
        let eta = done > 0 ? spent / Double(done) * Double(total - done) : 0
        if isTerminal {
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            let line = "\r\(task) [\(bar)] \(done)/\(total) ETA \(Self.format(seconds: eta))"
            write(line + (done == total ? "\n" : ""), newline: false)
        } else {
            // Plain lines for logs: at most one every 5 s per run, plus the last step.
            lock.lock()
            let due = done == total || Date().timeIntervalSince(lastPlainLine) >= 5
            if due { lastPlainLine = Date() }
            lock.unlock()
            if due { emit("[\(elapsed())] \(task): \(done)/\(total) (ETA \(Self.format(seconds: eta)))") }
        }
    }

    private func elapsed() -> String { Self.format(seconds: Date().timeIntervalSince(started)) }

    static func format(seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 60 ? "\(s / 60)m\(String(format: "%02d", s % 60))s" : "\(s)s"
    }

    private func emit(_ line: String) { write(line + "\n", newline: true) }

    private func write(_ text: String, newline: Bool) {
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(Data(text.utf8))
    }
}
