import Foundation
import OverlayCore
import OverlaySystem
import OverlayTestSupport
import Synchronization
import Testing

// The reference overlay on small hand-made layers. Lookup, reads, copy-up and symlink
// confinement run unprivileged; whiteouts (mknod) and the trusted.overlay.* xattrs need root.

/// Lower layers `l0` (top) and `l1`, an upper and a work directory under a fresh directory.
private struct Layers {
    let base: String
    var lower: [String] { [base + "/l0", base + "/l1"] }
    var upper: String { base + "/upper" }
    var work: String { base + "/work" }

    init(_ base: String) throws {
        self.base = base
        for directory in ["l0", "l1", "upper", "work"] { try make(directory) }
    }

    func make(_ relative: String) throws {
        try FileDescriptor.currentWorkingDirectory.makeDirectory(base + "/" + relative, mode: 0o755)
    }

    func write(_ relative: String, _ text: String, mode: UInt32 = 0o644) throws {
        let fd = try FileDescriptor.open(base + "/" + relative, [.writeOnly, .create, .truncate], mode: mode)
        defer { fd.closeIgnoringErrors() }
        try fd.writeAll(Array(text.utf8), at: 0)
    }

    func overlay(_ options: ReferenceOverlayOptions = .init(copyEngine: "read-write")) throws -> ReferenceOverlay {
        try ReferenceOverlay(lower: lower, upper: upper, work: work, options: options)
    }
}

private func read(_ fd: FileDescriptor) throws -> String {
    defer { fd.closeIgnoringErrors() }
    var bytes = [UInt8](repeating: 0, count: 4096)
    let count = try bytes.withUnsafeMutableBytes { try fd.preadFully(into: $0, at: 0) }
    return String(decoding: bytes[..<count], as: UTF8.self)
}

/// The errno `body` failed with, or nil if it succeeded.
private func failure(_ body: () throws(SystemError) -> Void) -> Errno? {
    switch Result(catching: body) {
    case .success: nil
    case .failure(let error): error.errno
    }
}

private func exists(_ path: String) -> Bool {
    (try? FileDescriptor.currentWorkingDirectory.status(of: path)) != nil
}

@Suite struct ReferenceOverlayTests {
    @Test func lookupTakesTheTopmostLayerAndMergesDirectories() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l0/d")
            try layers.make("l1/d")
            try layers.write("l0/d/top", "top")
            try layers.write("l1/d/top", "bottom")
            try layers.write("l1/d/bottom", "bottom")
            let overlay = try layers.overlay()
            #expect(try read(overlay.open("d/top", .readOnly)) == "top")
            #expect(try read(overlay.open("d/bottom", .readOnly)) == "bottom")
            #expect(try overlay.directoryEntries("d").sorted() == ["bottom", "top"])
            #expect(try overlay.lookup("d").lowers.count == 2)
            #expect(throws: SystemError.self) { try overlay.status(of: "d/none") }
        }
    }

    @Test func aNonDirectoryStopsTheMerge() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.write("l0/d", "file")
            try layers.make("l1/d")
            try layers.write("l1/d/hidden", "x")
            let overlay = try layers.overlay()
            #expect(try overlay.status(of: "d").type == .regular)
            #expect(failure { () throws(SystemError) in _ = try overlay.status(of: "d/hidden") } == .notDirectory, "a file in a directory hidden by a file was found")
        }
    }

    @Test func openForWriteCopiesUpAtOpenWithAncestors() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l1/a")
            try layers.make("l1/a/b")
            try layers.write("l1/a/b/f", "lower data", mode: 0o640)
            let overlay = try layers.overlay()
            let fd = try overlay.open("a/b/f", .writeOnly)
            fd.closeIgnoringErrors()
            let copied = try FileDescriptor.currentWorkingDirectory.status(of: layers.upper + "/a/b/f")
            #expect(copied.permissions == 0o640)
            #expect(try read(FileDescriptor.open(layers.upper + "/a/b/f", .readOnly)) == "lower data")
            #expect(try read(FileDescriptor.open(layers.lower[1] + "/a/b/f", .readOnly)) == "lower data")
            // O_TRUNC copies up nothing of the data.
            try layers.write("l1/a/t", "gone")
            try overlay.open("a/t", [.writeOnly, .truncate]).closeIgnoringErrors()
            #expect(try FileDescriptor.currentWorkingDirectory.status(of: layers.upper + "/a/t").size == 0)
            // A read does not copy up.
            try layers.write("l1/a/r", "read")
            #expect(try read(overlay.open("a/r", .readOnly)) == "read")
            #expect(!exists(layers.upper + "/a/r"))
        }
    }

    @Test func concurrentWritersCopyUpOnce() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.write("l0/big", String(repeating: "z", count: 1 << 16))
            let overlay = try layers.overlay()
            let failures = Atomic(0)
            DispatchQueue.concurrentPerform(iterations: 8) { index in
                let errno = failure { () throws(SystemError) in
                    let fd = try overlay.open("big", .writeOnly)
                    defer { fd.closeIgnoringErrors() }
                    try fd.writeAll([UInt8(ascii: "a") + UInt8(index)], at: Int64(index))
                }
                if errno != nil { failures.add(1, ordering: .relaxed) }
            }
            #expect(failures.load(ordering: .relaxed) == 0)
            // Every writer's byte survived: no later copy-up replaced an earlier writer's file.
            let text = try read(FileDescriptor.open(layers.upper + "/big", .readOnly))
            #expect(Array(text.utf8.prefix(8)) == (0..<8).map { UInt8(ascii: "a") + UInt8($0) })
            #expect(try FileDescriptor.currentWorkingDirectory.status(of: layers.upper + "/big").size == 1 << 16)
        }
    }

    @Test func symlinksResolveInsideTheMergedRoot() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try FileDescriptor.currentWorkingDirectory.makeSymlink(layers.lower[0] + "/evil", target: "/etc")
            try FileDescriptor.currentWorkingDirectory.makeSymlink(layers.lower[0] + "/up", target: "../../../..")
            try layers.make("l1/etc")
            let overlay = try layers.overlay()
            // /etc is the merged root's etc, which is the lower layer's.
            try overlay.open("evil/passwd", [.writeOnly, .create]).closeIgnoringErrors()
            #expect(exists(layers.upper + "/etc/passwd"))
            try overlay.open("up/escaped", [.writeOnly, .create]).closeIgnoringErrors()
            #expect(exists(layers.upper + "/escaped"))
            #expect(!exists("/escaped"))
            try FileDescriptor.currentWorkingDirectory.makeSymlink(layers.lower[0] + "/loop", target: "loop")
            #expect(failure { () throws(SystemError) in _ = try overlay.status(of: "loop/x") } == .tooManySymbolicLinkLevels)
        }
    }

    @Test func creatingThroughADanglingSymlinkCreatesItsTarget() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l0/d")
            try FileDescriptor.currentWorkingDirectory.makeSymlink(layers.lower[0] + "/s", target: "/d/new")
            let overlay = try layers.overlay()
            try overlay.open("s", [.writeOnly, .create]).closeIgnoringErrors()
            #expect(exists(layers.upper + "/d/new"))
            #expect(failure { () throws(SystemError) in _ = try overlay.open("s", [.writeOnly, .create, .exclusive]) } == .fileExists, "O_EXCL followed a symlink")
        }
    }

    @Test(Gate.root.trait) func unlinkLeavesAWhiteoutAndRmdirMkdirMakesAnOpaqueDirectory() throws {
        try Gate.root.require()
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l1/d")
            try layers.write("l1/d/f", "x")
            try layers.write("l1/g", "y")
            let overlay = try layers.overlay()
            try overlay.unlink("g")
            #expect(try FileDescriptor.currentWorkingDirectory.status(of: layers.upper + "/g").isWhiteoutDevice)
            #expect(try !overlay.directoryEntries(".").contains("g"))
            #expect(failure { () throws(SystemError) in try overlay.removeDirectory("d") } == .directoryNotEmpty, "rmdir of a non-empty merged directory succeeded")
            try overlay.unlink("d/f")
            try overlay.removeDirectory("d")
            try overlay.makeDirectory("d", mode: 0o755)
            #expect(try ExtendedAttributes.get("trusted.overlay.opaque", path: layers.upper + "/d") == Array("y".utf8))
            #expect(try overlay.directoryEntries("d").isEmpty)
        }
    }

    @Test(Gate.root.trait) func renamingALowerDirectoryIsEXDEVUnlessRedirectDir() throws {
        try Gate.root.require()
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l1/d")
            try layers.write("l1/d/f", "x")
            let plain = try layers.overlay()
            #expect(failure { () throws(SystemError) in try plain.rename("d", to: "e") } == .crossDeviceLink, "a lower directory was renamed without redirect_dir")
            let overlay = try layers.overlay(.init(redirectDir: true, copyEngine: "read-write"))
            try overlay.rename("d", to: "e")
            #expect(try ExtendedAttributes.get("trusted.overlay.redirect", path: layers.upper + "/e") == Array("d".utf8))
            #expect(try read(overlay.open("e/f", .readOnly)) == "x")
            #expect(try !overlay.directoryEntries(".").contains("d"))
        }
    }

    @Test(Gate.root.trait) func metacopyCopiesDataOnFirstWrite() throws {
        try Gate.root.require()
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.write("l0/f", "metadata first")
            let overlay = try layers.overlay(.init(metacopy: true, copyEngine: "read-write"))
            try overlay.changeMode("f", permissions: 0o600)
            let upper = layers.upper + "/f"
            #expect(try ExtendedAttributes.get("trusted.overlay.metacopy", path: upper) != nil)
            #expect(try FileDescriptor.currentWorkingDirectory.status(of: upper).allocatedBytes == 0)
            #expect(try read(overlay.open("f", .readOnly)) == "metadata first")
            try overlay.open("f", .writeOnly).closeIgnoringErrors()
            #expect(try ExtendedAttributes.get("trusted.overlay.metacopy", path: upper) == nil)
            #expect(try read(FileDescriptor.open(upper, .readOnly)) == "metadata first")
        }
    }

    // The lookup caches (open upper directories, absences, opaque marks) must never outlive the
    // namespace change that makes them wrong: each test warms them first.

    /// An upper directory renamed away and made again: a handle cached for the old one would
    /// put the new file into the renamed directory.
    @Test func aRenamedUpperDirectoryIsNotReachedThroughItsOldName() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            let overlay = try layers.overlay()
            try overlay.makeDirectory("u", mode: 0o755)
            try overlay.open("u/a", [.writeOnly, .create]).closeIgnoringErrors()
            _ = try overlay.lookup("u/a")
            try overlay.rename("u", to: "v")
            try overlay.makeDirectory("u", mode: 0o755)
            try overlay.open("u/b", [.writeOnly, .create]).closeIgnoringErrors()
            #expect(exists(layers.upper + "/u/b") && !exists(layers.upper + "/v/b"), "u/b was created through a stale handle")
            #expect(failure { () throws(SystemError) in _ = try overlay.lookup("u/a") } == .noSuchFileOrDirectory)
            #expect(try overlay.lookup("v/a").upper != nil)
        }
    }

    /// A name looked up (and found absent in upper) before a copy-up is found in upper after it,
    /// while the rest of what was learned stays correct.
    @Test func aCopyUpReplacesTheAbsenceItsLookupCached() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l0/d")
            try layers.write("l0/d/f", "lower")
            try layers.write("l0/d/g", "other")
            let overlay = try layers.overlay()
            #expect(try overlay.lookup("d/f").upper == nil)
            #expect(try overlay.lookup("d/g").upper == nil)
            let fd = try overlay.open("d/f", .writeOnly)
            try fd.writeAll(Array("upper".utf8), at: 0)
            fd.closeIgnoringErrors()
            #expect(try overlay.lookup("d/f").upper != nil)
            #expect(try read(overlay.open("d/f", .readOnly)) == "upper")
            #expect(try overlay.lookup("d/g").upper == nil)
            #expect(try read(overlay.open("d/g", .readOnly)) == "other")
        }
    }

    /// A directory whose opaque mark was read (absent) and that is then removed and made
    /// again is opaque: the lower names under it disappear.
    @Test(Gate.root.trait) func aRecreatedDirectoryHidesTheLowerNamesItsLookupsSaw() throws {
        try Gate.root.require()
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            try layers.make("l1/d")
            try layers.write("l1/d/f", "x")
            let overlay = try layers.overlay()
            try overlay.makeDirectory("d/sub", mode: 0o755)
            #expect(try overlay.lookup("d/f").lowers.count == 1)
            try overlay.removeDirectory("d/sub")
            try overlay.unlink("d/f")
            try overlay.removeDirectory("d")
            try overlay.makeDirectory("d", mode: 0o755)
            #expect(failure { () throws(SystemError) in _ = try overlay.lookup("d/f") } == .noSuchFileOrDirectory)
            #expect(try overlay.directoryEntries("d").isEmpty)
        }
    }

    /// Copy-up gives the copy the source's owner, mode and times whether or not the temporary
    /// was made with them: `w` loses bits to the umask and `s` has set-user-ID, which the
    /// temporary is made without, so both need the mode changed afterwards.
    @Test func copyUpKeepsModeAndTimes() throws {
        try withTemporaryDirectory { base in
            let layers = try Layers(base)
            let modes: [String: UInt32] = ["x": 0o751, "p": 0o600, "w": 0o777, "s": 0o4755]
            for (name, mode) in modes {
                try layers.write("l0/" + name, name, mode: mode)
                // write(_:_:mode:) is subject to the umask; set the exact mode.
                try FileDescriptor.currentWorkingDirectory.changeMode(layers.base + "/l0/" + name, permissions: mode)
            }
            let times = Timestamp(seconds: 1_000_000_000, nanoseconds: 123_456_789)
            for name in modes.keys.sorted() {
                try FileDescriptor.currentWorkingDirectory.setTimes(layers.base + "/l0/" + name, access: times, modification: times)
            }
            let overlay = try layers.overlay()
            for name in modes.keys.sorted() {
                let lower = try FileDescriptor.currentWorkingDirectory.status(of: layers.base + "/l0/" + name)
                try overlay.open(name, .writeOnly).closeIgnoringErrors()
                let upper = try FileDescriptor.currentWorkingDirectory.status(of: layers.upper + "/" + name)
                #expect(lower.permissions == modes[name], "\(name)")
                #expect(upper.permissions == lower.permissions, "\(name)")
                #expect(upper.uid == lower.uid && upper.gid == lower.gid, "\(name)")
                #expect(upper.modificationTime == lower.modificationTime, "\(name)")
            }
        }
    }
}
