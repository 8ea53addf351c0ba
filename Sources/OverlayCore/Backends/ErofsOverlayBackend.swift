import OverlaySystem

/// containerd's EROFS snapshotter (containerd 2.1, `docs/snapshotters/erofs.md`): every lower
/// layer is an EROFS image (``ErofsLayerImage``), mounted read-only, and a kernel overlay stacks
/// those mounts as its lower layers, with the upper and work directories of the stack's
/// container layer on the work root as usual. The design composefs also builds on.
///
/// Images are built and mounted in ``mount(_:options:)``, before any probe starts its clock;
/// their sizes and build times are the view's ``MergedView/setupFacts``. On an error part-way
/// (a failed mkfs, a refused mount, Ctrl-C between layers) every image mounted so far is
/// unmounted and its loop device detached before the error goes on.
public struct ErofsOverlayBackend: OverlayBackend {
    public let identifier = "erofs"
    /// Copy-up reads from an EROFS lower into an upper on another filesystem: nothing to clone.
    public static let capabilities = BackendCapabilities(
        layered: true, whiteoutFormat: .overlay, metacopy: true, clone: false, fsyncsCopyUp: true, needsRoot: true,
        kernelFilesystems: ["overlay", "erofs"], lowerLayerImages: "erofs", copiesLayers: true, mountBuildsLayers: true,
        takesMountOptions: true)
    public var capabilities: BackendCapabilities { Self.capabilities }
    /// The directory of the overlay2 tree that holds the short links to the image mounts.
    static let linkDirectory = "e"

    /// How the images are mounted (tests force the loop device) and how the overlay is.
    var imageMount: ErofsLayerImage.MountMethod = .automatic
    var overlayMethod: KernelMountMethod = .automatic

    public init() {}

    init(imageMount: ErofsLayerImage.MountMethod, overlayMethod: KernelMountMethod = .automatic) {
        self.imageMount = imageMount
        self.overlayMethod = overlayMethod
    }

    public func availability() -> BackendAvailability {
        if !Host.isRoot { return .unavailable("mounting EROFS images and an overlay over them needs root") }
        if !Host.inInitialUserNamespace {
            return .unavailable("EROFS cannot be mounted in a user namespace (it is not FS_USERNS_MOUNT), so --rootless cannot run it")
        }
        if let why = capabilities.unmetNeeds() { return .unavailable(why) }
        if ErofsLayerImage.mkfsPath == nil { return .unavailable("\(ErofsLayerImage.mkfsProgram) is not installed (apt: erofs-utils)") }
        return .available
    }

    /// `mkfs.erofs --version` as it names itself (`mkfs.erofs 1.5`); nil if it cannot be run.
    /// erofs-utils before 1.6 has no `--version`, but prints its name and version first on
    /// standard output before any usage error, so that line is taken whatever the exit.
    public static func mkfsVersion() -> String? {
        guard let mkfs = ErofsLayerImage.mkfsPath,
              let outcome = try? ChildProcess.run(mkfs, ["--version"]) else { return nil }
        return (outcome.standardOutput + "\n" + outcome.standardError).split(separator: "\n")
            .first { $0.hasPrefix(ErofsLayerImage.mkfsProgram + " ") }.map(String.init)
    }

    public func mount(_ stack: LayerStack, options: OverlayMountOptions) throws -> any MergedView {
        if case .unavailable(let why) = availability() { throw BackendError.unavailable(identifier, why) }
        var images: [ErofsLayerImage] = []
        do {
            var lowers: [KernelMountPlan.Lower] = []
            for (index, layer) in stack.lowerLayers.enumerated() {
                // A deep stack builds for a while: honour Ctrl-C between layers.
                try SignalTrap.check()
                // An adopted stack's `diff` is a symlink to the real layer; mkfs.erofs is given the layer.
                let image = try ErofsLayerImage.build(layer: index, from: try Host.realPath(layer.diff), in: layer.directory)
                images.append(image)
                try image.mount(imageMount)
                lowers.append(KernelMountPlan.Lower(path: image.mountPoint, link: try Self.link(image, layer, in: stack)))
            }
            let plan = KernelMountPlan(stack: stack, lowers: lowers, options: options, backend: identifier)
            let method = try plan.mount(overlayMethod)
            let overlay = try KernelMergedView(stack: stack, method: method)
            return ErofsMergedView(overlay: overlay, images: images)
        } catch {
            for image in images.reversed() { try? image.unmount() }
            throw error
        }
    }

    /// The short name of an image mount relative to the overlay2 directory, `e/<short name>`,
    /// a symlink to the mount point: Docker's `l/` trick for stacks too deep for absolute paths.
    private static func link(_ image: ErofsLayerImage, _ layer: LayerStack.Layer, in stack: LayerStack) throws -> String {
        let cwd = FileDescriptor.currentWorkingDirectory
        let directory = stack.root + "/" + linkDirectory
        try FileSystem.makeDirectory(directory, mode: 0o700)
        let relative = linkDirectory + "/" + layer.shortName
        let path = stack.root + "/" + relative
        if (try? cwd.readSymlink(path)) != image.mountPoint { try cwd.makeSymlink(path, target: image.mountPoint) }
        return relative
    }

    /// Builds a one-file EROFS image in `directory` (a scratch directory in the work root),
    /// mounts it file-backed (no loop device) at `<directory>/erofs`, reads the file back through
    /// the mount and unmounts. What doctor runs; it returns where it mounted.
    public static func checkFileBackedMount(in directory: String) throws -> String {
        let cwd = FileDescriptor.currentWorkingDirectory
        let source = directory + "/source"
        try cwd.makeDirectory(source, mode: 0o755)
        let contents = Array("erofs\n".utf8)
        let fd = try FileDescriptor.open(source + "/f", [.writeOnly, .create, .exclusive], mode: 0o644)
        do {
            try fd.writeAll(contents, at: 0)
            try fd.closeChecked(path: source + "/f")
        } catch {
            fd.closeIgnoringErrors()
            throw error
        }
        let image = try ErofsLayerImage.build(layer: 0, from: source, in: directory)
        try image.mount(.fileBacked)
        do {
            let read = try FileSystem.readFile(image.mountPoint + "/f")
            guard read == contents else {
                throw BackendError.mountFailed("erofs", "\(image.mountPoint)/f reads back \(read.count) bytes that differ from what was written")
            }
        } catch {
            try? image.unmount()
            throw error
        }
        try image.unmount()
        return image.mountPoint
    }
}

/// A kernel overlay over mounted EROFS images, and the images.
final class ErofsMergedView: MergedView {
    let backend = "erofs"
    var capabilities: BackendCapabilities { ErofsOverlayBackend.capabilities }
    let overlay: KernelMergedView
    let images: [ErofsLayerImage]
    /// `file-backed erofs lowers, mount(2)`: how the images and the overlay were mounted.
    let mountMethod: String
    let setupFacts: [SetupFact]
    private var mounted = true

    init(overlay: KernelMergedView, images: [ErofsLayerImage]) {
        self.overlay = overlay
        self.images = images
        let methods = Set(images.map { $0.device == nil ? "file-backed" : "loop-device" }).sorted()
        mountMethod = "\(methods.joined(separator: "+")) erofs lowers, \(overlay.mountMethod)"
        setupFacts = images.flatMap(\.facts)
    }

    var root: FileDescriptor { overlay.root }
    var upperPath: String { overlay.upperPath }
    var effectiveOptions: String { overlay.effectiveOptions }

    func open(_ path: String, _ flags: OpenFlags, mode: UInt32) throws(SystemError) -> FileDescriptor {
        try overlay.open(path, flags, mode: mode)
    }

    /// The overlay first (it holds the image mounts busy), then the images in the reverse of
    /// their mount order. Everything is tried; the first failure is thrown.
    func unmount() throws {
        guard mounted else { return }
        mounted = false
        try tearDownInOrder([overlay.unmount] + images.reversed().map { image in { try image.unmount() } })
    }

    deinit {
        // A view dropped without unmount() (a programming error) must still not leave a mount behind.
        if mounted { try? unmount() }
    }
}
