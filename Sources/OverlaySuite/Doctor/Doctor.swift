import OverlayCore
import OverlaySystem

/// `overlaybench doctor`: what this host can run, each check OK, WARN or FAIL with advice.
///
/// Most checks only read (/proc, /sys, uname, `fuse-overlayfs --version`, `mkfs.erofs
/// --version`, `mkfs.btrfs --version`). The others write, all in one scratch run directory made in the work root and
/// removed afterwards: d_type, O_TMPFILE and reflink make small files there, metacopy mounts a
/// one-layer kernel overlay there, the idmapped and data-only checks mount there, and the EROFS check builds a one-file image there and mounts
/// it (``mountingChecks``). The work root itself is created and marked if it does not exist.
public struct Doctor {
    /// The checks that mount something, and where: what `doctor --help` tells before it runs.
    public static let mountingChecks = [
        ("metacopy", "mounts a one-layer kernel overlay with metacopy=on at <work-root>/run-<pid>-<random>/overlay2/<container>/merged, reads its options back from /proc/self/mountinfo and unmounts it before that run directory is removed; it runs only as root with overlay available"),
        ("idmapped mounts", "makes an idmapped bind mount (mount_setattr MOUNT_ATTR_IDMAP, 0:100000:65536) of an empty directory at <work-root>/run-<pid>-<random>/idmap/target, checks the owner it shows and unmounts it before that run directory is removed; it runs only as root with overlay available"),
        ("data-only lower layers", "mounts a read-only overlay with lowerdir=<meta>::<data> at <work-root>/run-<pid>-<random>/dataonly/merged, reads its options back and unmounts it before that run directory is removed; it runs only as root with overlay available"),
        ("erofs file-backed mount", "builds a one-file EROFS image with mkfs.erofs at <work-root>/run-<pid>-<random>/erofs/layer.erofs, mounts it read-only and file-backed (no loop device) at <work-root>/run-<pid>-<random>/erofs/erofs, reads the file back and unmounts it before that run directory is removed; it runs only as root with erofs in /proc/filesystems and mkfs.erofs installed"),
    ]

    public enum Status: String, Codable, Sendable { case ok = "OK", warn = "WARN", fail = "FAIL" }

    public struct Check: Codable, Sendable {
        public var name: String
        public var status: Status
        public var detail: String
        public var advice: String?
    }

    public struct Report: Codable, Sendable {
        public var checks: [Check]
        /// Whether the kernel overlay backend can run: root, overlay, and a usable work root.
        public var kernelBackendRunnable: Bool
    }

    public let workRootPath: String

    public init(workRootPath: String) { self.workRootPath = workRootPath }

    public func run() -> Report {
        var checks: [Check] = []
        let kernel = Host.kernelVersion()
        let release = Host.uname().release
        if kernel.major > 6 || (kernel.major == 6 && kernel.minor >= 8) {
            checks.append(.init(name: "kernel", status: .ok, detail: "\(release): lowerdir+ (6.8+), userxattr (5.11+) and volatile (5.10+) available", advice: nil))
        } else if kernel.major > 5 || (kernel.major == 5 && kernel.minor >= 11) {
            checks.append(.init(name: "kernel", status: .warn, detail: "\(release): no lowerdir+ (6.8); deep stacks use short relative links", advice: "a 6.8+ kernel reaches 500 layers with the new mount API"))
        } else {
            checks.append(.init(name: "kernel", status: .warn, detail: "\(release): older than 5.11, no userxattr (rootless) or volatile before 5.10", advice: "results on this kernel miss several option sets"))
        }
        let root = Host.isRoot
        checks.append(.init(name: "root", status: root ? .ok : .fail, detail: root ? "running as uid 0" : "running as uid \(Host.effectiveUserID)",
                            advice: root ? nil : "run as root (sudo) to mount overlays and drop caches"))

        let filesystems: String
        var unreadable: SystemError?
        do { filesystems = try FileSystem.readText("/proc/filesystems") } catch {
            filesystems = ""
            unreadable = error
        }
        let hasOverlay = filesystems.contains("\toverlay\n")
        checks.append(.init(name: "overlay filesystem", status: hasOverlay ? .ok : .fail,
                            detail: unreadable.map { "cannot tell: \($0)" }
                                ?? (hasOverlay ? "overlay is in /proc/filesystems" : "overlay is not in /proc/filesystems"),
                            advice: hasOverlay ? nil : "modprobe overlay"))
        let parameters = RunEnvironment.overlayParameters()
        checks.append(.init(name: "overlay module parameters", status: parameters.isEmpty ? .warn : .ok,
                            detail: parameters.isEmpty ? "/sys/module/overlay/parameters is absent" :
                                parameters.keys.sorted().map { "\($0)=\(parameters[$0]!)" }.joined(separator: " "),
                            advice: parameters.isEmpty ? "load the overlay module to read its defaults" : nil))

        let hasErofs = filesystems.contains("\terofs\n") || FileSystem.exists("/sys/module/erofs")
        checks.append(.init(name: "erofs filesystem", status: hasErofs ? .ok : .warn,
                            detail: unreadable.map { "cannot tell: \($0)" }
                                ?? (hasErofs ? "erofs is in /proc/filesystems" : "erofs is not in /proc/filesystems"),
                            advice: hasErofs ? nil : "modprobe erofs (CONFIG_EROFS_FS) for the erofs backend"))
        checks.append(mkfsErofsCheck())

        let hasBtrfs = filesystems.contains("\tbtrfs\n") || FileSystem.exists("/sys/module/btrfs")
        checks.append(.init(name: "btrfs filesystem", status: hasBtrfs ? .ok : .warn,
                            detail: unreadable.map { "cannot tell: \($0)" }
                                ?? (hasBtrfs ? "btrfs is in /proc/filesystems" : "btrfs is not in /proc/filesystems"),
                            advice: hasBtrfs ? nil : "modprobe btrfs (CONFIG_BTRFS_FS) for the btrfs backend and --fs btrfs"))
        checks.append(mkfsBtrfsCheck())

        checks += ioURingChecks()
        let (workRootChecks, workRootUsable) = workRootChecks(root: root, overlay: hasOverlay, erofs: hasErofs)
        checks += workRootChecks
        checks.append(fuseCheck())
        let dropOK = PageCache.canDrop
        checks.append(.init(name: "drop_caches", status: dropOK ? .ok : .warn,
                            detail: dropOK ? "\(PageCache.dropCachesPath) is writable" : "\(PageCache.dropCachesPath) is not writable",
                            advice: dropOK ? nil : "cold-cache probes need root and a writable /proc/sys"))
        return Report(checks: checks, kernelBackendRunnable: root && hasOverlay && workRootUsable)
    }

    private func ioURingChecks() -> [Check] {
        var checks: [Check] = []
        switch IOURing.disabledSysctl {
        case nil: checks.append(.init(name: "io_uring sysctl", status: .ok, detail: "kernel.io_uring_disabled absent (io_uring allowed)", advice: nil))
        case 0?: checks.append(.init(name: "io_uring sysctl", status: .ok, detail: "kernel.io_uring_disabled = 0", advice: nil))
        case let value?: checks.append(.init(name: "io_uring sysctl", status: value == 2 ? .fail : .warn,
                                             detail: "kernel.io_uring_disabled = \(value)",
                                             advice: "sysctl kernel.io_uring_disabled=0 to use the io_uring copy engines"))
        }
        do {
            let ring = try IOURing(entries: 8)
            try ring.roundTripNop()
            let splice = ring.supports(opcode: 30)  // IORING_OP_SPLICE
            checks.append(.init(name: "io_uring ring", status: splice ? .ok : .warn,
                                detail: "a ring was set up and completed a NOP" + (splice ? "; IORING_OP_SPLICE supported" : "; IORING_OP_SPLICE unsupported"),
                                advice: splice ? nil : "the io_uring-splice engine is unavailable on this kernel"))
        } catch {
            checks.append(.init(name: "io_uring ring", status: .fail, detail: "\(error)", advice: "the io_uring copy engines and the reference overlay's default copy-up need io_uring"))
        }
        let liburing = Host.liburingPath.map { RunEnvironment.liburingVersion(fromPath: $0) }
        checks.append(.init(name: "liburing", status: liburing == nil ? .warn : .ok,
                            detail: liburing.map { "liburing \($0) (\(Host.liburingPath ?? ""))" } ?? "cannot tell which liburing is loaded",
                            advice: nil))
        return checks
    }

    private func workRootChecks(root: Bool, overlay: Bool, erofs: Bool) -> ([Check], Bool) {
        let workRoot: WorkRoot
        do {
            workRoot = try WorkRoot.prepare(workRootPath)
        } catch {
            return ([.init(name: "work root", status: .fail, detail: "\(error)", advice: "pass --work-root DIR: an empty or new directory")], false)
        }
        var checks: [Check] = []
        let backing = MountTable.current().backingMount(of: workRoot.path)
        let type = backing?.fileSystemType ?? "unknown"
        let upperCapable = !["overlay", "nfs", "fuse", "fuse.fuse-overlayfs"].contains(type)
        checks.append(.init(name: "work root filesystem", status: upperCapable ? .ok : .fail,
                            detail: "\(workRoot.path) is on \(type) (\(backing?.source ?? "?") at \(backing?.mountPoint ?? "?"), \(backing?.superOptions ?? ""))",
                            advice: upperCapable ? nil : "an overlay upper layer cannot live on \(type); choose another --work-root"))
        if let backing, backing.hasJournal == false {
            checks.append(.init(
                name: "ext4 journal", status: .warn,
                detail: "\(backing.source) is ext4 without a journal: its inode allocator skips inodes freed in the last minutes, so file creation, and with it every copy-up, slows down for minutes after a run deletes its trees",
                advice: "compare backends side by side in one run, or pass --fs ext4 for a fresh journalled filesystem"))
        }
        guard let scratch = try? workRoot.makeRunDirectory() else {
            checks.append(.init(name: "work root", status: .fail, detail: "cannot create a directory in \(workRoot.path)", advice: "check permissions and free space"))
            return (checks, false)
        }
        defer { try? workRoot.remove(scratch) }
        let cwd = FileDescriptor.currentWorkingDirectory

        // d_type: overlay refuses an upper filesystem without it.
        var dType = false
        if (try? cwd.makeDirectory(scratch + "/d")) != nil, (try? cwd.makeDirectory(scratch + "/d/x")) != nil,
           let dir = try? FileDescriptor.open(scratch + "/d", [.readOnly, .directory]) {
            dType = (try? dir.entries())?.first?.type == .directory
            dir.closeIgnoringErrors()
        }
        checks.append(.init(name: "d_type", status: dType ? .ok : .fail, detail: dType ? "readdir reports file types" : "readdir reports DT_UNKNOWN",
                            advice: dType ? nil : "overlay needs d_type on the upper filesystem (xfs: mkfs with ftype=1)"))

        let tmpfile = (try? FileDescriptor.open(scratch, [.readWrite, .temporaryFile], mode: 0o600)).map { $0.closeIgnoringErrors(); return true } ?? false
        checks.append(.init(name: "O_TMPFILE", status: tmpfile ? .ok : .warn,
                            detail: tmpfile ? "supported: copy-up installs files by O_TMPFILE + linkat" : "unsupported: copy-up falls back to a temporary file and rename",
                            advice: nil))

        var reflink = "unsupported"
        if let a = try? FileDescriptor.open(scratch + "/a", [.readWrite, .create], mode: 0o600) {
            _ = try? [UInt8](repeating: 1, count: 4096).withUnsafeBytes { try a.pwriteAll($0, at: 0) }
            if let b = try? FileDescriptor.open(scratch + "/b", [.readWrite, .create], mode: 0o600) {
                do { try b.cloneContents(of: a); reflink = "supported" } catch { reflink = "unsupported (\(error.errno.name))" }
                b.closeIgnoringErrors()
            }
            a.closeIgnoringErrors()
        }
        checks.append(.init(name: "reflink", status: reflink == "supported" ? .ok : .warn,
                            detail: "FICLONE \(reflink) on \(type)" + (reflink == "supported" ? ": kernel copy-up is O(1) here" : ": copy-up copies data"),
                            advice: reflink == "supported" ? nil : "xfs (reflink=1) or btrfs make copy-up O(1); --fs xfs compares"))

        var metacopy = Check(name: "metacopy", status: .warn, detail: "not checked: it mounts an overlay, which needs root and overlay", advice: nil)
        if root && overlay {
            metacopy = metacopyCheck(scratch: scratch)
        }
        checks.append(metacopy)
        if root && overlay {
            checks.append(idmappedMountCheck(scratch: scratch))
            checks.append(dataOnlyLayersCheck(scratch: scratch))
        } else {
            for name in ["idmapped mounts", "data-only lower layers"] {
                checks.append(.init(name: name, status: .warn, detail: "not checked: it mounts, which needs root and overlay", advice: nil))
            }
        }
        var fileBacked = Check(name: "erofs file-backed mount", status: .warn,
                               detail: "not checked: it mounts an EROFS image, which needs root, erofs and mkfs.erofs", advice: nil)
        if root && erofs && ErofsOverlayBackend.mkfsVersion() != nil {
            fileBacked = erofsFileBackedCheck(scratch: scratch)
        }
        checks.append(fileBacked)
        return (checks, upperCapable && dType)
    }

    /// `mkfs.erofs --version`: the erofs backend builds every lower layer's image with it.
    private func mkfsErofsCheck() -> Check {
        guard let version = ErofsOverlayBackend.mkfsVersion() else {
            return Check(name: "mkfs.erofs", status: .warn, detail: "mkfs.erofs is not installed",
                         advice: "apt-get install erofs-utils for the erofs backend (make bench does this)")
        }
        return Check(name: "mkfs.erofs", status: .ok, detail: version, advice: nil)
    }

    /// `mkfs.btrfs --version` (`mkfs.btrfs, part of btrfs-progs v6.2`): `--fs btrfs` formats
    /// its loop device with it, and the btrfs backend needs a btrfs unless the work root is one.
    private func mkfsBtrfsCheck() -> Check {
        let onBtrfs = BtrfsSnapshotBackend.unsupportedLocation(workRootPath) == nil
        let place = onBtrfs ? "the work root is on btrfs" : "the work root is not on btrfs, so the btrfs backend needs --fs btrfs"
        guard let mkfs = ChildProcess.findExecutable("mkfs.btrfs"),
              let outcome = try? ChildProcess.run(mkfs, ["--version"]), outcome.exit.succeeded,
              let version = (outcome.standardOutput + "\n" + outcome.standardError).split(separator: "\n").first.map(String.init) else {
            return Check(name: "mkfs.btrfs", status: onBtrfs ? .ok : .warn, detail: "mkfs.btrfs is not installed; \(place)",
                         advice: onBtrfs ? nil : "apt-get install btrfs-progs for --fs btrfs (make bench does this)")
        }
        return Check(name: "mkfs.btrfs", status: .ok, detail: "\(version); \(place)", advice: nil)
    }

    /// Builds and mounts a one-file EROFS image file-backed in `scratch/erofs` (a run directory
    /// in the work root); without file-backed mounts (before 6.12) the backend uses loop devices.
    private func erofsFileBackedCheck(scratch: String) -> Check {
        let directory = scratch + "/erofs"
        do {
            try FileSystem.makeDirectory(directory, mode: 0o755)
            let mountPoint = try ErofsOverlayBackend.checkFileBackedMount(in: directory)
            return Check(name: "erofs file-backed mount", status: .ok,
                         detail: "an EROFS image mounts from its file, no loop device (mounted at \(mountPoint), then unmounted)", advice: nil)
        } catch {
            return Check(name: "erofs file-backed mount", status: .warn, detail: "a file-backed EROFS mount failed: \(error)",
                         advice: "kernel 6.12+ with CONFIG_EROFS_FS_BACKED_BY_FILE mounts images directly; the erofs backend falls back to read-only loop devices")
        }
    }

    /// Mounts a one-layer overlay with `metacopy=on` in `scratch` (a run directory in the work
    /// root) and reads the option back; `withMergedView` unmounts it on every path.
    private func metacopyCheck(scratch: String) -> Check {
        do {
            let stack = try LayerStackBuilder(spec: LayerStackSpec(layerCount: 1, seed: 1, files: [FileSpec(path: "f", size: 1, layer: 0)]))
                .build(in: scratch)
            let options = try OverlayMountOptions(parsing: "metacopy=on")
            let effective = try withMergedView(KernelOverlayBackend(), stack, options: options) { $0.effectiveOptions }
            let on = effective.split(separator: ",").contains("metacopy=on")
            return Check(name: "metacopy", status: on ? .ok : .warn,
                         detail: (on ? "an overlay mounted with metacopy=on keeps it" : "metacopy=on was not kept: \(effective)")
                             + " (mounted at \(stack.mergedPath), then unmounted)",
                         advice: on ? nil : "metacopy needs kernel 4.19+ and an upper filesystem with xattrs")
        } catch {
            return Check(name: "metacopy", status: .warn, detail: "mount with metacopy=on failed: \(error)", advice: nil)
        }
    }

    /// The fuse backend runs ``FuseOverlayBackend/executable``; its version is the line of
    /// `fuse-overlayfs --version` that names fuse-overlayfs, not fusermount3's first line.
    private func fuseCheck() -> Check {
        let binary = FuseOverlayBackend.executable
        guard FileSystem.isExecutable(binary) else {
            if let elsewhere = ChildProcess.findExecutable("fuse-overlayfs") {
                return Check(name: "fuse-overlayfs", status: .warn, detail: "\(binary) is missing; \(elsewhere) is not the one the fuse backend runs",
                             advice: "apt-get install fuse-overlayfs fuse3 (make bench does this)")
            }
            return Check(name: "fuse-overlayfs", status: .warn, detail: "fuse-overlayfs is not installed", advice: "apt-get install fuse-overlayfs fuse3 (make bench does this)")
        }
        let hasDevice = FileSystem.exists("/dev/fuse")
        let version = FuseOverlayBackend.version() ?? "unknown version (\(binary) --version did not name itself)"
        return Check(name: "fuse-overlayfs", status: hasDevice ? .ok : .warn, detail: "\(binary): \(version)" + (hasDevice ? "" : "; /dev/fuse is missing"),
                     advice: hasDevice ? nil : "modprobe fuse")
    }
}
