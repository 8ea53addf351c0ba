import OverlayCore
import OverlaySystem
import Testing

/// The backend registry and the capabilities each backend declares. Nothing is mounted.
@Suite("Backend registry and capabilities")
struct BackendCapabilitiesTests {
    @Test("the registry makes every --backend name, and each backend carries that name")
    func registryNames() throws {
        #expect(BackendKind.allIdentifiers == ["kernel", "fuse", "plain", "reference", "erofs", "btrfs"])
        for kind in BackendKind.allCases {
            #expect(try BackendKind.make(identifier: kind.identifier).identifier == kind.identifier)
            #expect(BackendKind.capabilities(of: kind.identifier) == kind.make().capabilities)
        }
        #expect(BackendKind.capabilities(of: "zfs") == nil)
    }

    @Test("an unknown name is refused, and the message lists the known ones")
    func unknownName() {
        #expect(throws: BackendError.self) { try BackendKind.make(identifier: "zfs") }
        do {
            _ = try BackendKind.make(identifier: "zfs")
        } catch {
            #expect(error.description == "unknown backend zfs (known: kernel, fuse, plain, reference, erofs, btrfs)")
        }
    }

    @Test("the reference's copy engine is passed through the registry, and decides whether it clones")
    func referenceEngine() throws {
        let cloning = try BackendKind.make(identifier: "reference", referenceCopyEngine: CopyEngineKind.clone.identifier)
        #expect((cloning as? ReferenceOverlayBackend)?.copyEngine == "clone")
        #expect(cloning.capabilities.clone)
        #expect(!BackendKind.reference.capabilities.clone, "io_uring copies bytes")
        // The engine is the only thing the option changes.
        #expect(try BackendKind.make(identifier: "kernel", referenceCopyEngine: "clone").capabilities == KernelOverlayBackend.capabilities)
    }

    /// The facts the probes, choose and the report now ask instead of names.
    @Test("what each backend declares")
    func declarations() {
        let kernel = BackendKind.kernel.capabilities, fuse = BackendKind.fuse.capabilities
        let plain = BackendKind.plain.capabilities, reference = BackendKind.reference.capabilities
        let erofs = BackendKind.erofs.capabilities
        // Layered: everything but the flattened copy.
        #expect([kernel, fuse, reference, erofs].allSatisfy { $0.layered } && !plain.layered)
        #expect(kernel.whiteoutFormat == .overlay && reference.whiteoutFormat == .overlay && erofs.whiteoutFormat == .overlay)
        #expect(fuse.whiteoutFormat == .fuseOverlayfs && plain.whiteoutFormat == .none)
        // Only fuse-overlayfs keeps a node cache of its own that drop_caches leaves alone.
        #expect(fuse.keepsOwnNodeCache && ![kernel, plain, reference, erofs].contains { $0.keepsOwnNodeCache })
        #expect([kernel, reference, erofs].allSatisfy { $0.metacopy } && !fuse.metacopy && !plain.metacopy)
        // The kernel clones where the filesystem can; an EROFS lower is never on the upper's filesystem.
        #expect(kernel.clone && fuse.clone && !erofs.clone && !plain.clone)
        #expect(![kernel, fuse, plain, reference, erofs].contains { $0.blockCopyOnWrite })
        #expect(kernel.fsyncsCopyUp && erofs.fsyncsCopyUp && !fuse.fsyncsCopyUp)
        #expect([kernel, fuse, reference, erofs].allSatisfy { $0.needsRoot } && !plain.needsRoot)
        #expect(kernel.kernelFilesystems == ["overlay"] && erofs.kernelFilesystems == ["overlay", "erofs"])
        #expect(erofs.lowerLayerImages == "erofs" && kernel.lowerLayerImages == nil)
        #expect(erofs.copiesLayers && plain.copiesLayers && !kernel.copiesLayers)
        #expect([kernel, reference, erofs].allSatisfy { $0.takesMountOptions } && !fuse.takesMountOptions && !plain.takesMountOptions)
        #expect(!reference.mergedDirectory && [kernel, fuse, plain, erofs].allSatisfy { $0.mergedDirectory })
        #expect(fuse.server == .userSpaceDaemon && reference.server == .inProcess && erofs.server == .kernel)
        #expect([kernel, fuse, plain, reference, erofs].allSatisfy { $0.backingFilesystem == nil })
    }

    /// Docker's btrfs driver: block-level copy-on-write and no overlay, so every probe that needs
    /// an upper, a work directory or whiteouts treats it as it treats a plain directory.
    @Test("what the btrfs backend declares")
    func btrfsDeclaration() throws {
        let btrfs = BackendKind.btrfs.capabilities
        #expect(try BackendKind.make(identifier: "btrfs") is BtrfsSnapshotBackend)
        #expect(btrfs.blockCopyOnWrite && !btrfs.layered && btrfs.whiteoutFormat == .none)
        #expect(btrfs.needsRoot && btrfs.backingFilesystem == .btrfs && btrfs.kernelFilesystems == ["btrfs"])
        // No copy-up at all: nothing to clone, fsync or metacopy; no overlay options; the layers
        // are cloned into subvolumes, so a run needs no second copy of their data.
        #expect(!btrfs.clone && !btrfs.fsyncsCopyUp && !btrfs.metacopy && !btrfs.takesMountOptions && !btrfs.copiesLayers)
        #expect(btrfs.mergedDirectory && btrfs.server == .kernel && !btrfs.keepsOwnNodeCache)
        #expect(btrfs.unmetNeeds(isRoot: true, filesystems: "nodev\toverlay\n") == "'btrfs' not in /proc/filesystems (modprobe btrfs)"
                || FileSystem.exists("/sys/module/btrfs"))
        #expect(btrfs.unmetNeeds(isRoot: false, filesystems: "\tbtrfs\n") == "it needs root")
    }

    @Test("a mount-option variant keeps its base's capabilities, and option sets go where options are taken")
    func variants() throws {
        let volatile = try OverlayMountOptions(parsing: "volatile")
        let expanded = MountVariantBackend.expand([ErofsOverlayBackend(), FuseOverlayBackend(), KernelOverlayBackend()],
                                                  optionSets: [.defaults, volatile])
        #expect(expanded.map(\.identifier) == ["erofs", "erofs", "fuse", "kernel", "kernel"])
        for variant in expanded {
            #expect(variant.capabilities == BackendKind.capabilities(of: variant.identifier))
        }
        #expect((expanded[2] as? MountVariantBackend)?.options == .defaults, "fuse-overlayfs takes only the defaults")
    }

    @Test("unmet needs name what is missing: root, then each filesystem type")
    func unmetNeeds() {
        let erofs = BackendKind.erofs.capabilities
        #expect(erofs.unmetNeeds(isRoot: false, filesystems: "nodev\toverlay\n\terofs\n") == "it needs root")
        #expect(erofs.unmetNeeds(isRoot: true, filesystems: "nodev\toverlay\n\terofs\n") == nil)
        var needsMissing = erofs
        needsMissing.kernelFilesystems = ["overlay", "no-such-fs"]
        #expect(needsMissing.unmetNeeds(isRoot: true, filesystems: "nodev\toverlay\n")
            == "'no-such-fs' not in /proc/filesystems (modprobe no-such-fs)")
        #expect(BackendKind.plain.capabilities.unmetNeeds(isRoot: false, filesystems: "") == nil)
    }
}
