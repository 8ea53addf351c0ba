import Foundation
import OverlaySystem
import OverlayTestSupport
import Testing

@Suite("System layer")
struct SystemLayerTests {
    @Test("errors name the operation, the path and the errno")
    func errorDescription() {
        let error = SystemError("mount", path: "/x/merged", errno: .notPermitted)
        #expect(error.description == "mount /x/merged: Operation not permitted (EPERM)")
        #expect(Errno.crossDeviceLink.name == "EXDEV")
        #expect(Errno(rawValue: 9999).name == "E9999")
    }

    @Test("a missing file throws ENOENT with its path")
    func missingFile() throws {
        do {
            _ = try FileDescriptor.open("/nonexistent/overlaybench", .readOnly)
            Issue.record("open of a missing path succeeded")
        } catch {
            #expect(error.errno == .noSuchFileOrDirectory)
            #expect(error.path == "/nonexistent/overlaybench")
            #expect(error.operation == "open")
        }
    }

    @Test("releasing a file's pages keeps its data, passes over a missing file and never follows a symlink")
    func pageCacheRelease() throws {
        try withTemporaryDirectory { dir in
            let fd = try FileDescriptor.open(dir + "/f", [.readWrite, .create, .exclusive], mode: 0o640)
            defer { fd.closeIgnoringErrors() }
            try fd.writeAll(Array("still here".utf8), at: 0)
            try PageCache.release(dir + "/f")
            try PageCache.release(fd, path: dir + "/f")
            var buffer = [UInt8](repeating: 0, count: 10)
            _ = try buffer.withUnsafeMutableBytes { try fd.preadFully(into: $0, at: 0) }
            #expect(String(decoding: buffer, as: UTF8.self) == "still here")
            try PageCache.release(dir + "/missing")
            try FileDescriptor.currentWorkingDirectory.makeSymlink(dir + "/link", target: dir + "/f")
            #expect(throws: SystemError.self) { try PageCache.release(dir + "/link") }
        }
    }

    @Test("pwrite, pread, statx and truncate round-trip")
    func fileRoundTrip() throws {
        try withTemporaryDirectory { dir in
            let fd = try FileDescriptor.open(dir + "/f", [.readWrite, .create, .exclusive], mode: 0o640)
            defer { fd.closeIgnoringErrors() }
            try fd.writeAll(Array("hello overlay".utf8), at: 0)
            var buffer = [UInt8](repeating: 0, count: 5)
            let n = try buffer.withUnsafeMutableBytes { try fd.preadFully(into: $0, at: 6) }
            #expect(n == 5)
            #expect(String(decoding: buffer, as: UTF8.self) == "overl")
            let status = try fd.status()
            #expect(status.type == .regular)
            #expect(status.size == 13)
            #expect(status.permissions == 0o640)
            try fd.truncate(to: 4)
            #expect(try FileDescriptor.currentWorkingDirectory.status(of: dir + "/f").size == 4)
        }
    }

    @Test("SEEK_DATA and SEEK_HOLE find a sparse file's extents")
    func holes() throws {
        try withTemporaryDirectory { dir in
            let fd = try FileDescriptor.open(dir + "/sparse", [.readWrite, .create], mode: 0o600)
            defer { fd.closeIgnoringErrors() }
            try fd.truncate(to: 8 << 20)
            try fd.writeAll([UInt8](repeating: 7, count: 4096), at: 4 << 20)
            let data = try fd.nextData(from: 0)
            #expect(data == 4 << 20)
            #expect(try fd.nextHole(from: 4 << 20) == (4 << 20) + 4096)
            #expect(try fd.nextData(from: (4 << 20) + 4096) == nil)
        }
    }

    @Test("directory entries, symlinks and renames relative to a descriptor")
    func directoryOperations() throws {
        try withTemporaryDirectory { dir in
            let root = try FileDescriptor.open(dir, [.readOnly, .directory])
            defer { root.closeIgnoringErrors() }
            try root.makeDirectory("d", mode: 0o755)
            try root.makeSymlink("link", target: "../etc")
            #expect(try root.readSymlink("link") == "../etc")
            #expect(try root.status(of: "link").type == .symlink)
            try root.rename("d", to: "e", in: root)
            let names = try root.entries().map(\.name).sorted()
            #expect(names == ["e", "link"])
            #expect(try root.countEntries() == 2)
            do {
                try root.rename("e", to: "link", in: root, noReplace: true)
                Issue.record("RENAME_NOREPLACE replaced a name")
            } catch let error as SystemError {
                #expect(error.errno == .fileExists)
            }
        }
    }

    @Test("user xattrs round-trip; an absent one is nil")
    func xattrs() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/x"
            _ = FileManager.default.createFile(atPath: path, contents: Data())
            try ExtendedAttributes.set("user.overlaybench", value: Array("v1".utf8), path: path)
            #expect(try ExtendedAttributes.get("user.overlaybench", path: path) == Array("v1".utf8))
            #expect(try ExtendedAttributes.list(path: path).contains("user.overlaybench"))
            #expect(try ExtendedAttributes.get("user.absent", path: path) == nil)
            try ExtendedAttributes.remove("user.overlaybench", path: path)
            #expect(try ExtendedAttributes.get("user.overlaybench", path: path) == nil)
        }
    }

    @Test("copy_file_range and sendfile copy bytes")
    func copyCalls() throws {
        try withTemporaryDirectory { dir in
            let source = try FileDescriptor.open(dir + "/s", [.readWrite, .create], mode: 0o600)
            defer { source.closeIgnoringErrors() }
            let bytes = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
            try source.writeAll(bytes, at: 0)
            let dest = try FileDescriptor.open(dir + "/d", [.readWrite, .create], mode: 0o600)
            defer { dest.closeIgnoringErrors() }
            var copied = 0
            while copied < bytes.count {
                let n = try dest.copyFileRange(from: source, sourceOffset: Int64(copied), to: Int64(copied), length: bytes.count - copied)
                if n == 0 { break }
                copied += n
            }
            #expect(copied == bytes.count)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/d")) == Data(bytes))
        }
    }

    @Test("a whiteout is a 0/0 character device", Gate.root.trait)
    func whiteoutNode() throws {
        try Gate.root.require()
        try withTemporaryDirectory { dir in
            let root = try FileDescriptor.open(dir, [.readOnly, .directory])
            defer { root.closeIgnoringErrors() }
            try root.makeNode("wh", type: .characterDevice, permissions: 0)
            let status = try root.status(of: "wh")
            #expect(status.isWhiteoutDevice)
        }
    }

    @Test("an ID mapping maps its range only")
    func idMappingRange() {
        let mapping = IDMapping(inside: 0, outside: 100_000, count: 65_536)
        #expect(mapping.description == "0:100000:65536")
        #expect(mapping.outside(of: 0) == 100_000)
        #expect(mapping.outside(of: 65_535) == 165_535)
        #expect(mapping.outside(of: 65_536) == nil)
        #expect(IDMapping(inside: 1000, outside: 0, count: 1).outside(of: 999) == nil)
    }

    @Test("an idmapped bind mount shows owners shifted and is gone after unmounting", Gate.idmappedMounts.trait)
    func idmappedBindMount() throws {
        try Gate.idmappedMounts.require()
        try withTemporaryDirectory { dir in
            let cwd = FileDescriptor.currentWorkingDirectory
            try cwd.makeDirectory(dir + "/source")
            try cwd.makeDirectory(dir + "/target")
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/source/f"))
            try cwd.changeOwner(dir + "/source/f", uid: 7, gid: 8)
            let namespace = try UserNamespace(uidMap: [IDMapping(inside: 0, outside: 100_000, count: 65_536)],
                                              gidMap: [IDMapping(inside: 0, outside: 200_000, count: 65_536)])
            try Mount.bindIdmapped(dir + "/source", at: dir + "/target", namespace: namespace)
            let shown = try cwd.status(of: dir + "/target/f")
            let stored = try cwd.status(of: dir + "/source/f")
            try Mount.unmount(dir + "/target")
            #expect(shown.uid == 100_007 && shown.gid == 200_008)
            #expect(stored.uid == 7 && stored.gid == 8)
            #expect(try !String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).contains(dir))
        }
    }

    @Test("a user namespace refuses a map it may not write, with the errno")
    func userNamespaceRefusal() throws {
        // Two lines that overlap inside are refused by the kernel (EINVAL), root or not.
        #expect(throws: SystemError.self) {
            _ = try UserNamespace(uidMap: [IDMapping(inside: 0, outside: 100_000, count: 10), IDMapping(inside: 5, outside: 300_000, count: 10)],
                                  gidMap: [IDMapping(inside: 0, outside: 100_000, count: 10)])
        }
    }

    @Test("an io_uring ring completes a NOP", Gate.ioURing.trait)
    func ring() throws {
        try Gate.ioURing.require()
        let ring = try IOURing(entries: 4)
        try ring.roundTripNop()
        #expect(Host.liburingPath?.contains("liburing") == true)
    }

    @Test("the monotonic clock moves forward")
    func clock() {
        let a = MonotonicClock.now()
        let b = MonotonicClock.now()
        #expect(b >= a)
    }
}

@Suite("openat2 modes")
struct OpenAt2ModeTests {
    @Test("openat2 without O_CREAT succeeds whatever mode the caller passes (openat2 refuses a mode there)")
    func modeOnlyWithCreate() throws {
        try withTemporaryDirectory(prefix: "overlaybench-openat2") { directory in
            let root = try FileDescriptor.open(directory, [.readOnly, .directory])
            defer { root.closeIgnoringErrors() }
            let made = try FileDescriptor.open("f", [.writeOnly, .create, .exclusive], mode: 0o600, relativeTo: root, resolve: .beneath)
            try made.closeChecked()
            // The umask can only take bits away from 0600.
            #expect(try root.status(of: "f").permissions & 0o077 == 0)
            let reopened = try FileDescriptor.open("f", .readOnly, mode: 0o644, relativeTo: root, resolve: .beneath)
            reopened.closeIgnoringErrors()
        }
    }
}

/// A descriptor closed twice closes, the second time, whatever another thread opened under the
/// same number in between: in the test process, where suites run in parallel, that was a lower
/// layer's directory of the reference overlay in a differential run (issue 12), and the
/// reference then listed another directory. Debug builds stop at the second close instead.
@Suite("closing descriptors once")
struct CloseOnceTests {
    @Test("a second close of one descriptor stops a debug build")
    func aSecondCloseStops() async {
        await #expect(processExitsWith: .failure) {
            let fd = try FileDescriptor.open("/", [.readOnly, .directory])
            fd.closeIgnoringErrors()
            fd.closeIgnoringErrors()
        }
    }

    @Test("a descriptor that was never opened is not closed")
    func aNegativeDescriptorIsLeftAlone() {
        FileDescriptor(rawValue: -1).closeIgnoringErrors()
    }

    @Test("a failed atomic write closes its temporary once and leaves the existing file")
    func aRefusedAtomicWriteClosesOnce() throws {
        try withTemporaryDirectory(prefix: "overlaybench-close") { directory in
            let path = directory + "/kept"
            try FileSystem.writeAtomically(Array("old".utf8), to: path, replacing: false)
            #expect(throws: SystemError.self) {
                try FileSystem.writeAtomically(Array("new".utf8), to: path, replacing: false)
            }
            #expect(try FileSystem.readText(path) == "old")
            #expect(try FileSystem.entries(directory) == ["kept"])
        }
    }
}
