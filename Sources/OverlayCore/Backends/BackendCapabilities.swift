import OverlaySystem

/// What a backend does and what it needs, declared once per backend, as fio's engines declare
/// their flags (`FIO_SYNCIO`, `FIO_NODISKUTIL`, … in `ioengines.h`) and its core asks the flags
/// rather than the engine's name. Probes, `choose` and the report ask these; nothing above the
/// backends compares backend names.
public struct BackendCapabilities: Sendable, Hashable {
    /// How deletions and opaque directories show in the layer that takes changes.
    public enum WhiteoutFormat: String, Sendable, Hashable {
        /// The kernel's: a 0/0 character device, and `trusted.overlay.opaque=y` on a directory
        /// (`user.overlay.*` under `userxattr`); the reference overlay writes the same.
        case overlay
        /// fuse-overlayfs's: a 0/0 device when it runs as root, else a `.wh.NAME` file; opaque
        /// by the overlay xattr, `user.fuseoverlayfs.opaque` or a `.wh..wh..opq` file.
        case fuseOverlayfs = "fuse-overlayfs"
        /// None: a deletion removes the name and a replaced directory is a new one (a plain
        /// directory; a btrfs snapshot).
        case none
    }

    /// How it can present an image's owners shifted into a user namespace's range without
    /// `chown -R` (which every backend with a merged directory can do, by copying up).
    public enum OwnerShift: String, Sendable, Hashable {
        /// Idmapped lower layers (`mount_setattr(2)` with `MOUNT_ATTR_IDMAP`, kernel 5.19+ for
        /// overlay): nothing is copied until a write, which copies up with the shifted owner.
        case idmappedLayers = "idmapped-layers"
        /// The daemon maps owners on every call (fuse-overlayfs's `uidmapping=`, `gidmapping=`).
        case daemonMapping = "uidmapping"
    }

    /// Where the merged view is served.
    public enum Server: String, Sendable, Hashable {
        /// By the kernel, through a mount (or an ordinary directory).
        case kernel
        /// By a user-space daemon behind FUSE: every call the kernel cannot answer from its own
        /// caches crosses to it.
        case userSpaceDaemon = "user-space daemon"
        /// By this process: there is no mount, calls go through the backend's own API.
        case inProcess = "in-process"
    }

    /// The image's layers stay separate below a container layer that takes copy-ups: lower
    /// layers, an upper and a work directory. False for a flattened copy (a plain directory).
    public var layered: Bool
    public var whiteoutFormat: WhiteoutFormat
    /// It keeps its own cache of nodes, which `drop_caches` does not empty, so its cold figures
    /// are warmer than the kernel's (fuse-overlayfs's inode table).
    public var keepsOwnNodeCache: Bool
    /// It honours `metacopy=on`: chmod, chown and utimes copy up the inode only.
    public var metacopy: Bool
    /// Its copy-up clones the file (`FICLONE`, `vfs_clone_file_range`) where the lower and upper
    /// files share a filesystem that can (xfs with reflink, btrfs).
    public var clone: Bool
    /// A first write copies only the blocks written, never the file (btrfs snapshots).
    public var blockCopyOnWrite: Bool
    /// It fsyncs what it copies up (unless `volatile`).
    public var fsyncsCopyUp: Bool
    public var needsRoot: Bool
    /// The filesystem types it mounts, which must be in `/proc/filesystems` (or loadable).
    public var kernelFilesystems: [String]
    /// The filesystem its layers must live on (a btrfs driver needs btrfs), or nil for any.
    public var backingFilesystem: BackingFilesystemKind?
    /// The filesystem type of the image each lower layer is turned into before mounting
    /// (`erofs`), or nil when the layers are used as directories.
    public var lowerLayerImages: String?
    /// Mounting writes a copy of the lower layers (the flattened tree, or one image per layer),
    /// so a run needs their size again in disk.
    public var copiesLayers: Bool
    /// Mounting makes the image's layers anew (an EROFS image per layer, a btrfs subvolume per
    /// layer), which a runtime does once per image at pull time, not once per container; a
    /// per-container figure must not include it.
    public var mountBuildsLayers: Bool
    /// It takes overlay mount options (`metacopy=on`, `volatile`, …); the others take only the defaults.
    public var takesMountOptions: Bool
    /// How it shifts owners without copying (``OwnerShift``), nil if only `chown -R` can.
    public var ownerShift: OwnerShift?
    /// It serves a real merged directory whose descriptor the probes can walk (`statx`,
    /// `readdir` relative to the root); false for the in-process reference.
    public var mergedDirectory: Bool
    public var server: Server

    public init(
        layered: Bool, whiteoutFormat: WhiteoutFormat, keepsOwnNodeCache: Bool = false, metacopy: Bool,
        clone: Bool, blockCopyOnWrite: Bool = false, fsyncsCopyUp: Bool, needsRoot: Bool,
        kernelFilesystems: [String] = [], backingFilesystem: BackingFilesystemKind? = nil,
        lowerLayerImages: String? = nil, copiesLayers: Bool = false, mountBuildsLayers: Bool = false, takesMountOptions: Bool,
        ownerShift: OwnerShift? = nil, mergedDirectory: Bool = true, server: Server = .kernel
    ) {
        self.layered = layered
        self.whiteoutFormat = whiteoutFormat
        self.keepsOwnNodeCache = keepsOwnNodeCache
        self.metacopy = metacopy
        self.clone = clone
        self.blockCopyOnWrite = blockCopyOnWrite
        self.fsyncsCopyUp = fsyncsCopyUp
        self.needsRoot = needsRoot
        self.kernelFilesystems = kernelFilesystems
        self.backingFilesystem = backingFilesystem
        self.lowerLayerImages = lowerLayerImages
        self.copiesLayers = copiesLayers
        self.mountBuildsLayers = mountBuildsLayers
        self.takesMountOptions = takesMountOptions
        self.ownerShift = ownerShift
        self.mergedDirectory = mergedDirectory
        self.server = server
    }

    /// What this host lacks for the needs declared here (root, the filesystem types), or nil.
    /// A backend's ``OverlayBackend/availability()`` starts from this and adds its own checks.
    public func unmetNeeds(isRoot: Bool = Host.isRoot, filesystems: String? = nil) -> String? {
        if needsRoot && !isRoot { return "it needs root" }
        let known = filesystems ?? ((try? FileSystem.readText("/proc/filesystems")) ?? "")
        let missing = kernelFilesystems.filter { type in
            // A module not yet loaded is absent from /proc/filesystems; mount(2) autoloads it.
            !known.contains("\t\(type)\n") && !FileSystem.exists("/sys/module/\(type)")
        }
        if !missing.isEmpty {
            return missing.map { "'\($0)'" }.joined(separator: " and ") + " not in /proc/filesystems (modprobe \(missing.joined(separator: " ")))"
        }
        return nil
    }
}
