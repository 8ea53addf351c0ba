import OverlaySystem

/// Docker's btrfs storage driver and containerd's btrfs snapshotter: no overlay at all. Every
/// layer is a btrfs subvolume, made as a snapshot of the layer below it with the layer's own diff
/// applied on top, and the container is a writable snapshot of the top layer, which is the
/// merged view's root. A first write into a file the container shares with its image copies only
/// the blocks written (btrfs copy-on-write), never the file.
///
/// The diffs are applied by ``LayerFlattener`` as real changes: a whiteout (a 0/0 character
/// device in the stack's lower directory) deletes the name, an opaque directory
/// (`trusted.overlay.opaque=y`) replaces the one below, and regular files are cloned
/// (`ioctl(FICLONE)`) from the layer directories, which must be on the same btrfs, so setting up
/// copies metadata, not data. Each layer's subvolume is made read-only once applied, as
/// containerd commits a snapshot.
///
/// The subvolumes live in `<overlay2 directory>/subvolumes/<layer id>` and
/// `…/subvolumes/<container id>`, inside the work root, and exist only while the view does:
/// ``BtrfsMergedView/unmount()`` deletes them all, and an error part-way through
/// ``mount(_:options:)`` (a refused ioctl, a failed apply, Ctrl-C between layers) deletes those
/// made so far before the error goes on.
public struct BtrfsSnapshotBackend: OverlayBackend {
    public let identifier = "btrfs"
    /// Not layered in the overlay sense: there is no upper, work or lower directory and no
    /// whiteout; the container's own subvolume takes every write.
    public static let capabilities = BackendCapabilities(
        layered: false, whiteoutFormat: .none, metacopy: false, clone: false, blockCopyOnWrite: true, fsyncsCopyUp: false,
        needsRoot: true, kernelFilesystems: ["btrfs"], backingFilesystem: .btrfs, mountBuildsLayers: true, takesMountOptions: false)
    public var capabilities: BackendCapabilities { Self.capabilities }
    /// The directory of the overlay2 tree that holds the subvolumes.
    public static let subvolumeDirectory = "subvolumes"

    public init() {}

    public func availability() -> BackendAvailability {
        if !Host.isRoot { return .unavailable("making and deleting btrfs subvolumes needs root") }
        if !Host.inInitialUserNamespace {
            return .unavailable("deleting a btrfs subvolume in a user namespace needs the user_subvol_rm_allowed mount option, so --rootless cannot run it")
        }
        if let why = capabilities.unmetNeeds() { return .unavailable(why) }
        return .available
    }

    /// The one-line reason `path` cannot hold this backend's subvolumes, or nil when it is on
    /// btrfs: what `run` says before it starts, and what ``mount(_:options:)`` throws.
    public static func unsupportedLocation(_ path: String) -> String? {
        do {
            if try Btrfs.holds(path: path) { return nil }
        } catch {
            return "cannot tell the filesystem of \(path): \(error)"
        }
        let type = MountTable.current().backingMount(of: path)?.fileSystemType ?? "another filesystem"
        return "\(path) is on \(type), not btrfs: give --fs btrfs (a btrfs on a loop device) or a --work-root on btrfs"
    }

    /// The path of the subvolume a layer of `stack` becomes (its container's included).
    public static func subvolumePath(of layer: LayerStack.Layer, in stack: LayerStack) -> String {
        stack.root + "/" + subvolumeDirectory + "/" + layer.id
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if case .unavailable(let why) = availability() { throw BackendError.unavailable(identifier, why) }
        if !options.options.isEmpty {
            throw BackendError.mountFailed(identifier, "overlay mount options (\(options.description)) do not apply to btrfs snapshots")
        }
        if let why = Self.unsupportedLocation(stack.root) { throw BackendError.unavailable(identifier, why) }
        let directory = stack.root + "/" + Self.subvolumeDirectory
        try FileSystem.makeDirectory(directory, mode: 0o700)
        let parent = try FileDescriptor.open(directory, [.readOnly, .directory, .noFollow, .closeOnExec])
        let subvolumes = BtrfsSubvolumeSet(directory: directory, parent: parent)
        do {
            // Bottom layer first: each layer is a snapshot of the one below it.
            var below: String?
            var facts: [SetupFact] = []
            for (index, layer) in stack.lowerLayers.enumerated().reversed() {
                // A deep stack takes a while: honour Ctrl-C between layers.
                try SignalTrap.check()
                let start = MonotonicClock.now()
                try subvolumes.make(layer.id, snapshotOf: below)
                // An adopted stack's `diff` is a symlink to the real layer; the flattener follows none.
                let applied = try LayerFlattener.apply(try Host.realPath(layer.diff), onto: subvolumes.path(layer.id), options: Self.applying)
                try subvolumes.setReadOnly(layer.id)
                facts += Self.facts(layer: index, applied: applied, nanoseconds: MonotonicClock.now() - start,
                                    note: below == nil ? "new subvolume" : "snapshot of layer \(index + 1)")
                below = layer.id
            }
            try SignalTrap.check()
            let start = MonotonicClock.now()
            try subvolumes.make(stack.container.id, snapshotOf: below)
            // What the stack's upper already holds (nothing, for a generated stack) is the container's own.
            let applied = try LayerFlattener.apply(try Host.realPath(stack.upperPath), onto: subvolumes.path(stack.container.id),
                                                   options: Self.applying)
            facts += Self.facts(layer: nil, applied: applied, nanoseconds: MonotonicClock.now() - start,
                                note: below == nil ? "new subvolume" : "writable snapshot of layer 0")
            return try BtrfsMergedView(subvolumes: subvolumes, container: stack.container.id, setupFacts: facts)
        } catch {
            try? subvolumes.deleteAll()
            throw error
        }
    }

    /// Whiteouts delete, opaque directories replace, files are cloned, and owners, modes, times
    /// and xattrs follow the layer, as `docker load` applies a layer onto a btrfs snapshot.
    static let applying = LayerFlattener.Options(reflink: true, preservesMetadata: true)

    private static func facts(layer: Int?, applied: LayerFlattener.Applied, nanoseconds: UInt64, note: String) -> [SetupFact] {
        [SetupFact(name: "btrfsSnapshotTime", layer: layer, value: Double(nanoseconds), unit: "ns", note: note),
         SetupFact(name: "btrfsClonedFiles", layer: layer, value: Double(applied.clonedFiles), unit: "files"),
         SetupFact(name: "btrfsCopiedFiles", layer: layer, value: Double(applied.copiedFiles), unit: "files"),
         SetupFact(name: "btrfsDeletions", layer: layer, value: Double(applied.deletions + applied.opaqueReplacements), unit: "names")]
    }
}

/// The subvolumes one view made, in one directory, in the order made; deletes them newest first.
final class BtrfsSubvolumeSet {
    let directory: String
    private let parent: FileDescriptor
    private var parentOpen = true
    private(set) var names: [String] = []

    init(directory: String, parent: FileDescriptor) {
        self.directory = directory
        self.parent = parent
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// A new subvolume `name`, or a writable snapshot of the subvolume `source` when there is one.
    func make(_ name: String, snapshotOf source: String?) throws {
        precondition(parentOpen, "the subvolume set of \(directory) is already deleted")
        if let source {
            let fd = try FileDescriptor.open(path(source), [.readOnly, .directory, .noFollow, .closeOnExec])
            defer { fd.closeIgnoringErrors() }
            try Btrfs.snapshot(fd, as: name, in: parent, readOnly: false, path: path(name))
        } else {
            try Btrfs.createSubvolume(name, in: parent, path: path(name))
        }
        names.append(name)
    }

    /// Marks the subvolume read-only: a committed layer no write can change.
    func setReadOnly(_ name: String) throws {
        let fd = try FileDescriptor.open(path(name), [.readOnly, .directory, .noFollow, .closeOnExec])
        defer { fd.closeIgnoringErrors() }
        try Btrfs.setReadOnly(fd, true, path: path(name))
    }

    /// Deletes every subvolume, newest first, then closes the directory and removes it when
    /// empty. Every deletion is tried; the first failure is thrown.
    func deleteAll() throws {
        guard parentOpen else { return }
        var firstError: (any Error)?
        while let name = names.last {
            do {
                try Btrfs.deleteSubvolume(name, in: parent, path: path(name))
                names.removeLast()
            } catch {
                if firstError == nil { firstError = error }
                // Left for the error to name; the others are still tried.
                names.removeLast()
            }
        }
        parentOpen = false
        parent.closeIgnoringErrors()
        if firstError == nil {
            do { try FileDescriptor.currentWorkingDirectory.unlink(directory, directory: true) } catch { firstError = error }
        }
        if let firstError { throw firstError }
    }

    deinit {
        // A set dropped without deleteAll() (a programming error) must still not leave subvolumes behind.
        if parentOpen { try? deleteAll() }
    }
}

/// The container's writable snapshot, open; writes land in it directly, so it is also the
/// view's ``MergedView/upperPath``.
final class BtrfsMergedView: MergedView {
    let backend = "btrfs"
    var capabilities: BackendCapabilities { BtrfsSnapshotBackend.capabilities }
    let root: FileDescriptor
    let upperPath: String
    let effectiveOptions = ""
    let mountMethod = "btrfs snapshots (BTRFS_IOC_SNAP_CREATE_V2, FICLONE)"
    let setupFacts: [SetupFact]
    let subvolumes: BtrfsSubvolumeSet
    private var live = true

    init(subvolumes: BtrfsSubvolumeSet, container: String, setupFacts: [SetupFact]) throws {
        self.subvolumes = subvolumes
        self.setupFacts = setupFacts
        upperPath = subvolumes.path(container)
        root = try FileDescriptor.open(upperPath, [.readOnly, .directory, .noFollow, .closeOnExec])
    }

    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try FileDescriptor.open(path, flags, mode: mode, relativeTo: root)
    }

    /// Closes the root, then deletes the container's subvolume and every layer's.
    func unmount() throws {
        guard live else { return }
        live = false
        root.closeIgnoringErrors()
        try subvolumes.deleteAll()
    }

    deinit {
        if live {
            root.closeIgnoringErrors()
            try? subvolumes.deleteAll()
        }
    }
}
