import Foundation
import OverlaySystem

/// The kernel's overlay filesystem, mounted on the stack's `merged/` directory.
///
/// It mounts with `mount(2)` when the option string fits in one page. Beyond that it uses the
/// new mount API with one `fsconfig(lowerdir+)` per layer (kernel 6.8+), and on older kernels
/// Docker's trick: name layers by short relative links from the overlay2 directory, mounted by a
/// child process that starts there.
public struct KernelOverlayBackend: OverlayBackend {
    public let identifier = "kernel"
    public static let capabilities = BackendCapabilities(
        layered: true, whiteoutFormat: .overlay, metacopy: true, clone: true, fsyncsCopyUp: true, needsRoot: true,
        kernelFilesystems: ["overlay"], takesMountOptions: true, ownerShift: .idmappedLayers)
    public var capabilities: BackendCapabilities { Self.capabilities }
    /// The mechanism to mount with; the default picks the first that fits (tests force the others).
    var method: KernelMountMethod = .automatic
    /// When set, each lower layer is mounted idmapped with this mapping (``IdmappedLayers``) and
    /// the overlay is made of those mounts: the view shows every lower owner shifted, and a
    /// copy-up writes the shifted owner into the upper layer.
    public var lowerIDMapping: IDMapping?

    public init(lowerIDMapping: IDMapping? = nil) { self.lowerIDMapping = lowerIDMapping }

    /// Whether `overlay` is in `/proc/filesystems`, read once per process: every mount checks
    /// availability, and a mount inside a timed time-to-ready must not reread the file.
    private static let overlayListed = ((try? FileSystem.readText("/proc/filesystems")) ?? "").contains("\toverlay\n")

    init(method: KernelMountMethod) { self.method = method }

    public func availability() -> BackendAvailability {
        if !Host.isRoot {
            return .unavailable("mounting an overlay needs root; without it, --rootless runs in a user namespace with userxattr (kernel 5.11+)")
        }
        if !Self.overlayListed { return .unavailable("'overlay' is not in /proc/filesystems (modprobe overlay)") }
        return .available
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if case .unavailable(let why) = availability() { throw BackendError.unavailable(identifier, why) }
        var options = options
        if !Host.inInitialUserNamespace && !options.userXattr {
            // In a user namespace the trusted.* xattrs are out of reach; overlay keeps its own
            // in user.overlay.* instead (Documentation/filesystems/overlayfs.rst, "userxattr").
            options = (try? OverlayMountOptions(parsing: options.description.isEmpty ? "userxattr" : options.description + ",userxattr")) ?? options
        }
        guard let lowerIDMapping else {
            let method = try KernelMountPlan(stack: stack, options: options).mount(self.method)
            return try KernelMergedView(stack: stack, method: method)
        }
        let layers = try IdmappedLayers(stack, mapping: lowerIDMapping)
        do {
            let plan = KernelMountPlan(stack: stack, lowers: layers.lowers(stack), options: options, backend: identifier)
            return IdmappedMergedView(overlay: try KernelMergedView(stack: stack, method: try plan.mount(self.method)), layers: layers)
        } catch {
            layers.unmount()
            throw error
        }
    }

    public func shiftingOwners(_ mapping: IDMapping) -> (any OverlayBackend)? {
        var shifted = self
        shifted.lowerIDMapping = mapping
        return shifted
    }
}

/// The mechanisms a kernel overlay can be mounted by.
enum KernelMountMethod: Sendable {
    /// `mount(2)` when the options fit one page, else `fsconfig(lowerdir+)` (6.8+), else relative links.
    case automatic
    case lowerdirPlus
    case relativeLinks
}

/// How one overlay mount is carried out: the option string, and the mechanism that fits it.
struct KernelMountPlan {
    /// One `lowerdir` entry: its absolute path, and a short name for it relative to the
    /// overlay2 directory (a symlink there, Docker's `l/XXXX`) for when absolute paths do not fit.
    struct Lower {
        var path: String
        var link: String
    }

    let stack: LayerStack
    let options: OverlayMountOptions
    /// The lower directories, top-first: the stack's own layers, or what stands for them (the
    /// EROFS backend's image mounts).
    let lowers: [Lower]
    /// The backend named in errors.
    let backend: String

    init(stack: LayerStack, options: OverlayMountOptions) {
        self.init(stack: stack, lowers: stack.lowerLayers.map { Lower(path: $0.diff, link: stack.relativeLink($0)) },
                  options: options, backend: "kernel")
    }

    init(stack: LayerStack, lowers: [Lower], options: OverlayMountOptions, backend: String) {
        self.stack = stack
        self.lowers = lowers
        self.options = options
        self.backend = backend
    }

    /// Escapes a path for a `mount(2)` overlay option: the kernel splits options on unescaped `,`
    /// and `lowerdir=` on unescaped `:`, then drops one backslash before any character
    /// (`ovl_next_opt`, `ovl_unescape` in fs/overlayfs/params.c).
    static func escape(_ path: String) -> String {
        var out = ""
        for c in path {
            if c == "\\" || c == ":" || c == "," { out.append("\\") }
            out.append(c)
        }
        return out
    }

    /// For `fsconfig` `upperdir`/`workdir` values, which are unescaped but not split.
    static func escapeBackslashes(_ path: String) -> String {
        path.replacingOccurrences(of: "\\", with: "\\\\")
    }

    func monolithicData(lower: [String], upper: String, work: String) -> String {
        var parts = [
            "lowerdir=" + lower.map(Self.escape).joined(separator: ":"),
            "upperdir=" + Self.escape(upper),
            "workdir=" + Self.escape(work),
        ]
        if !options.options.isEmpty { parts.append(options.description) }
        return parts.joined(separator: ",")
    }

    /// Mounts and returns the method used.
    func mount(_ method: KernelMountMethod = .automatic) throws -> String {
        switch method {
        case .automatic: break
        case .lowerdirPlus:
            try mountWithLowerdirPlus()
            return "fsconfig(lowerdir+)"
        case .relativeLinks:
            try mountWithRelativeLinks()
            return relativeLinksMethod
        }
        let absolute = monolithicData(lower: lowers.map(\.path), upper: stack.upperPath, work: stack.workPath)
        if absolute.utf8.count <= Mount.maximumDataLength {
            try Mount.mount(source: "overlay", target: stack.mergedPath, type: "overlay", data: absolute)
            return "mount(2)"
        }
        let kernel = Host.kernelVersion()
        if kernel.major > 6 || (kernel.major == 6 && kernel.minor >= 8) {
            try mountWithLowerdirPlus()
            return "fsconfig(lowerdir+)"
        }
        try mountWithRelativeLinks()
        return relativeLinksMethod
    }

    /// `mount(8) with relative l/ links`, naming the directory the links are in.
    private var relativeLinksMethod: String {
        "mount(8) with relative \(lowers.first?.link.split(separator: "/").first ?? "l")/ links"
    }

    /// The new mount API: each `fsconfig` value is at most 255 bytes, one layer per call.
    private func mountWithLowerdirPlus() throws {
        let context = try FilesystemContext(fileSystemType: "overlay")
        try context.set("source", "overlay")
        for lower in lowers {
            // lowerdir+ is taken verbatim (ovl_mount_dir_noesc); the l/ link is the short spelling.
            let path = lower.path.utf8.count <= 255 ? lower.path : stack.root + "/" + lower.link
            guard path.utf8.count <= 255 else {
                throw BackendError.mountFailed(backend, "layer path \(path) is longer than fsconfig's 255-byte limit")
            }
            try context.set("lowerdir+", path)
        }
        try context.set("upperdir", Self.escapeBackslashes(stack.upperPath))
        try context.set("workdir", Self.escapeBackslashes(stack.workPath))
        for option in options.options {
            if let value = option.value { try context.set(option.name, value) } else { try context.set(flag: option.name) }
        }
        try context.mount(at: stack.mergedPath)
    }

    /// Docker's method: short relative `l/XXXX` names resolved from the overlay2 directory.
    ///
    /// The kernel resolves relative layer paths against the mounting process's working directory.
    /// Rather than `chdir` this process (which every thread shares, and tests run in parallel),
    /// a `mount(8)` child is started in the overlay2 directory and does the mount there.
    private func mountWithRelativeLinks() throws {
        let relative = monolithicData(
            lower: lowers.map(\.link),
            upper: stack.container.id + "/diff", work: stack.container.id + "/work")
        guard relative.utf8.count <= Mount.maximumDataLength else {
            throw BackendError.mountFailed(backend, "\(lowers.count) layers need \(relative.utf8.count) bytes of mount data even with short links; the limit is \(Mount.maximumDataLength) and this kernel lacks lowerdir+ (6.8)")
        }
        guard let mount = ChildProcess.findExecutable("mount") else {
            throw BackendError.mountFailed(backend, "\(lowers.count) layers need short relative links, which are mounted by mount(8), and it is not installed (apt: mount)")
        }
        // -i: no mount.overlay helper; -n: no /etc/mtab. The option string is passed verbatim.
        let outcome = try ChildProcess.run(mount, ["-i", "-n", "-t", "overlay", "overlay", "-o", relative, stack.mergedPath],
                                           workingDirectory: stack.root, timeout: 60)
        guard outcome.exit.succeeded else {
            throw BackendError.mountFailed(backend, "mount(8) in \(stack.root) \(outcome.exit): \(outcome.firstLine)")
        }
    }
}

/// A live kernel overlay mount.
final class KernelMergedView: MergedView {
    let backend = "kernel"
    var capabilities: BackendCapabilities { KernelOverlayBackend.capabilities }
    let root: FileDescriptor
    let upperPath: String
    let mountPoint: String
    let mountMethod: String
    /// Read from `/proc/self/mountinfo` when first asked for (while mounted), not by mounting,
    /// so a time-to-ready that includes the mount does not include parsing the mount table.
    private(set) lazy var effectiveOptions: String = MountTable.current().mount(at: mountPoint)?.superOptions ?? ""
    private var mounted = true

    init(stack: LayerStack, method: String) throws {
        mountPoint = stack.mergedPath
        upperPath = stack.upperPath
        mountMethod = method
        do {
            root = try FileDescriptor.open(stack.mergedPath, [.readOnly, .directory, .noFollow])
        } catch {
            try? Mount.unmount(stack.mergedPath)
            throw error
        }
    }

    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(path, flags, mode: mode, relativeTo: root)
    }

    func unmount() throws {
        guard mounted else { return }
        root.closeIgnoringErrors()
        try OverlayUnmounter.unmount(mountPoint)
        mounted = false
    }

    deinit {
        // A view dropped without unmount() (a programming error) must still not leave a mount behind.
        if mounted {
            root.closeIgnoringErrors()
            try? OverlayUnmounter.unmount(mountPoint)
        }
    }
}

/// Unmounts, retrying briefly on `EBUSY` (a descriptor being closed elsewhere), then detaching.
enum OverlayUnmounter {
    static func unmount(_ mountPoint: String) throws {
        var attempts = 0
        while true {
            let busy: Bool
            do {
                try Mount.unmount(mountPoint)
                return
            } catch {
                busy = error.errno == .resourceBusy
                if !busy { throw error }
            }
            attempts += 1
            if attempts >= 20 { break }
            MonotonicClock.sleep(nanoseconds: 50_000_000)
        }
        try Mount.unmount(mountPoint, detach: true)
    }
}

public enum BackendError: Error, CustomStringConvertible, Sendable {
    case unavailable(String, String)
    case mountFailed(String, String)
    case unknown(String)

    public var description: String {
        switch self {
        case .unavailable(let backend, let why): "backend \(backend) is unavailable: \(why)"
        case .mountFailed(let backend, let why): "backend \(backend) failed to mount: \(why)"
        case .unknown(let name): "unknown backend \(name) (known: \(BackendKind.allIdentifiers.joined(separator: ", ")))"
        }
    }
}
