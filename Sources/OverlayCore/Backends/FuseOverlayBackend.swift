import OverlaySystem

/// fuse-overlayfs, the userspace overlay rootless Podman and Buildah use, mounted on the stack's
/// `merged/` directory.
///
/// It runs in the foreground (`-f`), so the PID spawned is the daemon serving the mount: the view
/// records it, and unmounting waits for exactly that PID to exit (`fusermount3 -u`, then
/// `waitpid`), signalling it by PID (SIGTERM, then SIGKILL) only if it lingers. Its own process
/// group keeps the terminal's Ctrl-C away from it, so OverlayBench unmounts before it exits.
public struct FuseOverlayBackend: OverlayBackend {
    public let identifier = "fuse"
    /// It tries FICLONE before sendfile and a read/write loop, and never fsyncs a copy-up
    /// (fuse-overlayfs `copy_file`); its daemon keeps an inode table of its own.
    public static let capabilities = BackendCapabilities(
        layered: true, whiteoutFormat: .fuseOverlayfs, keepsOwnNodeCache: true, metacopy: false, clone: true,
        fsyncsCopyUp: false, needsRoot: true, kernelFilesystems: ["fuse"], takesMountOptions: false,
        ownerShift: .daemonMapping, server: .userSpaceDaemon)
    public var capabilities: BackendCapabilities { Self.capabilities }
    public static let executable = "/usr/bin/fuse-overlayfs"
    public static let fusermount = "/usr/bin/fusermount3"
    /// The type `/proc/self/mountinfo` shows for its mounts.
    public static let fileSystemType = "fuse.fuse-overlayfs"

    /// How long to wait for the mount to appear, and for the daemon to exit after unmounting.
    public var mountTimeout: Double = 10
    public var exitTimeout: Double = 5
    /// When set, the daemon presents every owner shifted by this mapping (`uidmapping=`,
    /// `gidmapping=`), storing the unshifted owner in the upper layer.
    public var idMapping: IDMapping?

    public init(idMapping: IDMapping? = nil) { self.idMapping = idMapping }

    public func shiftingOwners(_ mapping: IDMapping) -> (any OverlayBackend)? {
        var shifted = self
        shifted.idMapping = mapping
        return shifted
    }

    public func availability() -> BackendAvailability {
        if !Host.isRoot { return .unavailable("fuse-overlayfs as run here needs root (trusted.overlay.* xattrs, /dev/fuse)") }
        if (try? FileDescriptor.currentWorkingDirectory.status(of: "/dev/fuse", followSymlinks: true)) == nil {
            return .unavailable("/dev/fuse is missing (modprobe fuse)")
        }
        for binary in [Self.executable, Self.fusermount]
        where (try? FileDescriptor.currentWorkingDirectory.status(of: binary, followSymlinks: true)) == nil {
            return .unavailable("\(binary) is missing (apt install fuse-overlayfs fuse3)")
        }
        return .available
    }

    /// `fuse-overlayfs --version`, e.g. `fuse-overlayfs: version 1.10`; nil if it cannot be run.
    public static func version() -> String? {
        // It prints fusermount3's and libfuse's versions too; only its own line names it.
        guard let result = try? ChildProcess.run(executable, ["--version"]), result.exit.succeeded else { return nil }
        return (result.standardOutput + "\n" + result.standardError).split(separator: "\n")
            .first { $0.hasPrefix("fuse-overlayfs:") }.map(String.init)
    }

    /// The `-o` option string. fuse's option parser splits on `,` and fuse-overlayfs splits
    /// `lowerdir=` on `:`; rather than rely on escapes that differ between versions, paths that
    /// hold `:`, `,` or `\` are refused.
    static func optionString(_ stack: LayerStack, options: OverlayMountOptions, idMapping: IDMapping? = nil) throws(BackendError) -> String {
        for path in stack.lowerPaths + [stack.upperPath, stack.workPath, stack.mergedPath]
        where path.contains(where: { $0 == ":" || $0 == "," || $0 == "\\" }) {
            throw .mountFailed("fuse", "path \(path) contains ':', ',' or '\\', which fuse-overlayfs's option parsing cannot take")
        }
        if !options.options.isEmpty {
            throw .mountFailed("fuse", "kernel overlay options (\(options.description)) do not apply to fuse-overlayfs")
        }
        let mapping = idMapping.map { ",uidmapping=\($0),gidmapping=\($0)" } ?? ""
        return "lowerdir=\(stack.lowerPaths.joined(separator: ":")),upperdir=\(stack.upperPath),workdir=\(stack.workPath)" + mapping
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if case .unavailable(let why) = availability() { throw BackendError.unavailable(identifier, why) }
        let data = try Self.optionString(stack, options: options, idMapping: idMapping)
        let log = stack.container.directory + "/fuse-overlayfs.log"
        let daemon = try ChildProcess.spawn(Self.executable, ["-f", "-o", data, stack.mergedPath],
                                            standardOutput: log, standardError: log)
        // On record at once, so `overlaybench cleanup` can stop it even if we are SIGKILLed.
        ProcessLedger.record(pid: daemon.pid, executable: Self.executable, mountPoint: stack.mergedPath)
        do {
            try waitForMount(stack.mergedPath, daemon: daemon, log: log)
            return try FuseMergedView(stack: stack, daemon: daemon, exitTimeout: exitTimeout)
        } catch {
            FuseMergedView.stop(daemon, mountPoint: stack.mergedPath, exitTimeout: exitTimeout)
            throw error
        }
    }

    /// Polls `/proc/self/mountinfo` until the mount shows up, the daemon dies, or time runs out.
    private func waitForMount(_ mountPoint: String, daemon: ChildProcess, log: String) throws {
        let deadline = MonotonicClock.now() + UInt64(mountTimeout * 1e9)
        while true {
            if MountTable.current().mount(at: mountPoint)?.fileSystemType == Self.fileSystemType { return }
            if let exit = try daemon.poll() {
                throw BackendError.mountFailed(identifier, "fuse-overlayfs (pid \(daemon.pid)) \(exit) before mounting: \(Self.tail(of: log))")
            }
            if MonotonicClock.now() >= deadline {
                throw BackendError.mountFailed(identifier, "no \(Self.fileSystemType) mount at \(mountPoint) after \(mountTimeout) s: \(Self.tail(of: log))")
            }
            MonotonicClock.sleep(nanoseconds: 2_000_000)
        }
    }

    static func tail(of log: String) -> String {
        guard let fd = try? FileDescriptor.open(log, .readOnly) else { return "(no log)" }
        defer { fd.closeIgnoringErrors() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2048, alignment: 8)
        defer { buffer.deallocate() }
        let n = (try? fd.pread(into: buffer, at: 0)) ?? 0
        let text = String(decoding: buffer[..<n], as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: " | ")
        return text.isEmpty ? "(empty log)" : text
    }
}

/// A live fuse-overlayfs mount and the daemon serving it.
public final class FuseMergedView: MergedView {
    public let backend = "fuse"
    public var capabilities: BackendCapabilities { FuseOverlayBackend.capabilities }
    public let root: FileDescriptor
    public let upperPath: String
    public let mountPoint: String
    /// `fuse-overlayfs: version 1.10` (the daemon's PID is ``pid``). Found when first read, not
    /// by mounting, so a time-to-ready that includes the mount never includes running
    /// `fuse-overlayfs --version`.
    public private(set) lazy var mountMethod: String = FuseOverlayBackend.version() ?? "unknown"
    /// Read from `/proc/self/mountinfo` when first asked for (while mounted), not by mounting.
    public private(set) lazy var effectiveOptions: String = {
        let entry = MountTable.current().mount(at: mountPoint)
        return [entry?.mountOptions, entry?.superOptions].compactMap { $0 }.joined(separator: ",")
    }()
    let daemon: ChildProcess
    let exitTimeout: Double
    private var mounted = true

    init(stack: LayerStack, daemon: ChildProcess, exitTimeout: Double) throws {
        mountPoint = stack.mergedPath
        upperPath = stack.upperPath
        self.daemon = daemon
        self.exitTimeout = exitTimeout
        root = try FileDescriptor.open(stack.mergedPath, [.readOnly, .directory, .noFollow])
    }

    /// The daemon's PID, for tests and diagnostics.
    public var pid: Int32 { daemon.pid }

    public func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(path, flags, mode: mode, relativeTo: root)
    }

    public func unmount() throws {
        guard mounted else { return }
        mounted = false
        root.closeIgnoringErrors()
        if let failure = Self.stop(daemon, mountPoint: mountPoint, exitTimeout: exitTimeout) {
            throw BackendError.mountFailed("fuse", failure)
        }
    }

    deinit {
        // A view dropped without unmount() must still leave neither a mount nor a daemon behind.
        if mounted {
            root.closeIgnoringErrors()
            _ = Self.stop(daemon, mountPoint: mountPoint, exitTimeout: exitTimeout)
        }
    }

    /// Unmounts (`fusermount3 -u`, falling back to `umount2` since we are root), then waits for
    /// the daemon's PID; SIGTERM and then SIGKILL only if it does not exit by itself. Returns a
    /// description of what went wrong, or nil.
    @discardableResult
    static func stop(_ daemon: ChildProcess, mountPoint: String, exitTimeout: Double) -> String? {
        var problems: [String] = []
        defer { if daemon.exit != nil { ProcessLedger.forget(pid: daemon.pid) } }
        if MountTable.current().mount(at: mountPoint)?.fileSystemType == FuseOverlayBackend.fileSystemType {
            let result = try? ChildProcess.run(FuseOverlayBackend.fusermount, ["-u", mountPoint])
            if result?.exit.succeeded != true {
                do { try OverlayUnmounter.unmount(mountPoint) } catch {
                    problems.append("fusermount3 -u \(mountPoint): \(result.map { $0.firstLine } ?? "did not run"); umount2: \(error)")
                }
            }
        }
        do {
            if try daemon.wait(timeout: exitTimeout) != nil { return problems.isEmpty ? nil : problems.joined(separator: "; ") }
            problems.append("fuse-overlayfs pid \(daemon.pid) did not exit \(exitTimeout) s after unmount; sent SIGTERM")
            try daemon.signal(SignalNumber.terminate)
            if try daemon.wait(timeout: 2) == nil {
                problems.append("sent SIGKILL")
                try daemon.signal(SignalNumber.kill)
                try daemon.wait()
            }
        } catch {
            problems.append("waiting for fuse-overlayfs pid \(daemon.pid): \(error)")
        }
        return problems.joined(separator: "; ")
    }
}
