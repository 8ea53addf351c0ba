import OverlaySystem

/// A stack's lower layers presented through idmapped bind mounts, one per layer, under
/// `<stack root>/idmapped/<short name>`: what a user-namespaced container's runtime mounts its
/// image's layers as instead of `chown -R`-ing a copy (kernel 5.19+ takes idmapped layers in an
/// overlay, fs/overlayfs/super.c `ovl_mount_dir_check`). Every mount comes from one user
/// namespace whose uid and gid maps are `mapping`; ``unmount()`` ends them all.
final class IdmappedLayers {
    static let directory = "idmapped"

    let mapping: IDMapping
    /// The mount points, top-first, as `lowerdir=` lists them.
    private(set) var mountPoints: [String] = []

    /// Makes the namespace and the mounts; on any failure, unmounts what it mounted and throws.
    init(_ stack: LayerStack, mapping: IDMapping) throws {
        self.mapping = mapping
        do {
            let namespace = try UserNamespace(uidMap: [mapping], gidMap: [mapping])
            let cwd = FileDescriptor.currentWorkingDirectory
            let parent = stack.root + "/" + Self.directory
            try Self.makeDirectory(parent, mode: 0o700, cwd)
            for layer in stack.lowerLayers {
                let target = parent + "/" + layer.shortName
                try Self.makeDirectory(target, mode: 0o755, cwd)
                // An adopted stack's `diff` is a symlink to the layer, which open_tree does not follow.
                let source = try cwd.status(of: layer.diff).type == .symlink ? try Host.realPath(layer.diff) : layer.diff
                try Mount.bindIdmapped(source, at: target, namespace: namespace)
                mountPoints.append(target)
            }
        } catch {
            unmount()
            throw error
        }
    }

    /// `mkdir`, taking a directory that is already there (an earlier container's mount point).
    private static func makeDirectory(_ path: String, mode: UInt32, _ cwd: FileDescriptor) throws(SystemError) {
        do { try cwd.makeDirectory(path, mode: mode) } catch {
            guard error.errno == .fileExists, (try? cwd.status(of: path))?.type == .directory else { throw error }
        }
    }

    /// The lowers an overlay mounts instead of the layers themselves: the idmapped mount points,
    /// with `idmapped/<short name>` as their short relative name.
    func lowers(_ stack: LayerStack) -> [KernelMountPlan.Lower] {
        zip(mountPoints, stack.lowerLayers).map { KernelMountPlan.Lower(path: $0, link: Self.directory + "/" + $1.shortName) }
    }

    /// Unmounts every layer, last first; returns the first error, having tried them all.
    @discardableResult
    func unmount() -> (any Error)? {
        var firstError: (any Error)?
        for mountPoint in mountPoints.reversed() {
            do { try OverlayUnmounter.unmount(mountPoint) } catch { if firstError == nil { firstError = error } }
        }
        mountPoints.removeAll()
        return firstError
    }
}

/// A kernel overlay over idmapped lower layers: the overlay first, then the layers' mounts.
final class IdmappedMergedView: MergedView {
    let overlay: KernelMergedView
    let layers: IdmappedLayers
    private var mounted = true

    init(overlay: KernelMergedView, layers: IdmappedLayers) {
        self.overlay = overlay
        self.layers = layers
    }

    var backend: String { overlay.backend }
    var capabilities: BackendCapabilities { overlay.capabilities }
    var root: FileDescriptor { overlay.root }
    var upperPath: String { overlay.upperPath }
    var effectiveOptions: String { overlay.effectiveOptions }
    var mountMethod: String { "\(layers.mountPoints.count) idmapped lowers (mount_setattr, \(layers.mapping)), \(overlay.mountMethod)" }

    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try overlay.open(path, flags, mode: mode)
    }

    func unmount() throws {
        guard mounted else { return }
        mounted = false
        try tearDownInOrder([overlay.unmount, { if let error = self.layers.unmount() { throw error } }])
    }

    deinit {
        // A view dropped without unmount() (a programming error) must still not leave a mount behind.
        if mounted { try? unmount() }
    }
}
