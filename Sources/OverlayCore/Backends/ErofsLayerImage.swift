import OverlaySystem

/// One lower layer as containerd's EROFS differ keeps it: `<layer>/layer.erofs`, built from the
/// layer's directory with `mkfs.erofs --quiet -Enoinline_data` (containerd
/// `internal/erofsutils`, `ConvertErofs`), mounted read-only at `<layer>/erofs`.
///
/// mkfs.erofs keeps what overlay needs of a lower layer: 0/0 character devices (whiteouts), the
/// `trusted.overlay.opaque` xattr, modes, owners, per-file mtimes and `user.*` xattrs.
///
/// The image is mounted file-backed where the kernel can (6.12+, `CONFIG_EROFS_FS_BACKED_BY_FILE`:
/// `mount(2)` given the file itself) and through a read-only loop device where it cannot (the
/// kernel refuses a regular file as the source with `ENOTBLK`). ``unmount()`` undoes whichever
/// it did, and is safe after a partial ``mount(_:)``.
final class ErofsLayerImage {
    /// How the image is mounted.
    enum MountMethod: Sendable {
        /// File-backed, else a loop device when the kernel refuses a file (`ENOTBLK`).
        case automatic
        /// File-backed only (doctor's check).
        case fileBacked
        /// A read-only loop device (tests force it; kernels before 6.12 need it).
        case loopDevice
    }

    static let imageName = "layer.erofs"
    static let mountPointName = "erofs"
    static let mkfsProgram = "mkfs.erofs"
    /// containerd's own arguments: no tail packing of file data into the inode, so data blocks
    /// stay block-aligned (it keeps the image mountable by a block-aligned backing store).
    static let mkfsArguments = ["--quiet", "-Enoinline_data"]

    /// The lower layer's index, top-first.
    let layer: Int
    let image: String
    let mountPoint: String
    /// The image's size (`st_size`).
    let bytes: Int64
    /// mkfs.erofs's wall time, from spawn to exit.
    let buildNanoseconds: UInt64
    /// The loop device while one is attached.
    private(set) var device: String?
    private(set) var isMounted = false

    private init(layer: Int, image: String, mountPoint: String, bytes: Int64, buildNanoseconds: UInt64) {
        self.layer = layer
        self.image = image
        self.mountPoint = mountPoint
        self.bytes = bytes
        self.buildNanoseconds = buildNanoseconds
    }

    /// `file-backed` or `loop /dev/loopN`.
    var method: String { device.map { "loop \($0)" } ?? "file-backed" }

    /// The absolute path of mkfs.erofs, or nil when erofs-utils is not installed.
    static var mkfsPath: String? { ChildProcess.findExecutable(mkfsProgram) }

    /// Builds the image of `directory` (a real directory, not a symlink to one) in
    /// `layerDirectory`, replacing an image an earlier mount of the same stack left there.
    static func build(layer: Int, from directory: String, in layerDirectory: String) throws -> ErofsLayerImage {
        guard let mkfs = mkfsPath else {
            throw BackendError.unavailable("erofs", "\(mkfsProgram) is not installed (apt: erofs-utils)")
        }
        let image = layerDirectory + "/" + imageName
        if FileSystem.exists(image) { try FileSystem.removeFile(image) }
        let arguments = mkfsArguments + [image, directory]
        let start = MonotonicClock.now()
        // A layer of gigabytes takes a while; the limit only keeps a wedged mkfs from hanging a run.
        let outcome = try ChildProcess.run(mkfs, arguments, timeout: 3600)
        let elapsed = MonotonicClock.now() - start
        guard outcome.exit.succeeded, !outcome.timedOut else {
            let how = outcome.timedOut ? "timed out" : "\(outcome.exit)"
            throw BackendError.mountFailed("erofs", "\(mkfsProgram) \(arguments.joined(separator: " ")) \(how): \(outcome.firstLine)")
        }
        let size = try FileDescriptor.currentWorkingDirectory.status(of: image).size
        return ErofsLayerImage(layer: layer, image: image, mountPoint: layerDirectory + "/" + mountPointName,
                               bytes: size, buildNanoseconds: elapsed)
    }

    /// Mounts the image read-only at ``mountPoint`` (made if missing).
    func mount(_ method: MountMethod) throws {
        precondition(!isMounted, "\(image) is already mounted")
        let cwd = FileDescriptor.currentWorkingDirectory
        do {
            try cwd.makeDirectory(mountPoint, mode: 0o755)
        } catch {
            // A remount of the same stack finds its mount point; anything else there is refused.
            if error.errno != .fileExists || (try? cwd.status(of: mountPoint))?.type != .directory { throw error }
        }
        if method != .loopDevice {
            do {
                try Mount.mount(source: image, target: mountPoint, type: "erofs", flags: .readOnly, data: nil)
                isMounted = true
                return
            } catch {
                if method == .fileBacked || error.errno != .notBlockDevice { throw error }
            }
        }
        let device = try LoopDevice.attach(image: image, readOnly: true)
        self.device = device
        do {
            try Mount.mount(source: device, target: mountPoint, type: "erofs", flags: .readOnly, data: nil)
            isMounted = true
        } catch {
            try? unmount()
            throw error
        }
    }

    /// Unmounts (retrying while busy, then detaching) and detaches the loop device if there is
    /// one. Both are tried; the first failure is thrown.
    func unmount() throws {
        var firstError: (any Error)?
        if isMounted {
            do {
                try OverlayUnmounter.unmount(mountPoint)
                isMounted = false
            } catch {
                firstError = error
            }
        }
        if let device {
            do {
                // After a lazy unmount losetup -d only sets autoclear; the device goes with its last user.
                try LoopDevice.detach(device)
                self.device = nil
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    /// This image's size and build time, for the view's ``MergedView/setupFacts``.
    var facts: [SetupFact] {
        [SetupFact(name: "erofsImageBytes", layer: layer, value: Double(bytes), unit: "bytes", note: method),
         SetupFact(name: "erofsBuildTime", layer: layer, value: Double(buildNanoseconds), unit: "ns")]
    }
}
