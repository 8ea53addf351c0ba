import OverlayCore
import OverlaySystem
import Testing

/// The backend registry and the capabilities each backend declares. Nothing is mounted.
@Suite("Backend registry and capabilities")
struct BackendCapabilitiesTests {
    @Test("the registry makes every --backend name, and each backend carries that name")
    func registryNames() throws {
        #expect(BackendKind.allIdentifiers == ["kernel", "fuse", "plain", "reference"])
        for kind in BackendKind.allCases {
            #expect(try BackendKind.make(identifier: kind.identifier).identifier == kind.identifier)
            #expect(BackendKind.capabilities(of: kind.identifier) == kind.make().capabilities)
        }
        #expect(BackendKind.capabilities(of: "btrfs") == nil)
    }

    @Test("an unknown name is refused, and the message lists the known ones")
    func unknownName() {
        #expect(throws: BackendError.self) { try BackendKind.make(identifier: "zfs") }
        do {
            _ = try BackendKind.make(identifier: "zfs")
        } catch {
            #expect(error.description == "unknown backend zfs (known: kernel, fuse, plain, reference)")
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
        // Layered: everything but the flattened copy.
        #expect([kernel, fuse, reference].allSatisfy { $0.layered } && !plain.layered)
        #expect(kernel.whiteoutFormat == .overlay && reference.whiteoutFormat == .overlay)
        #expect(fuse.whiteoutFormat == .fuseOverlayfs && plain.whiteoutFormat == .none)
        // Only fuse-overlayfs keeps a node cache of its own that drop_caches leaves alone.
        #expect(fuse.keepsOwnNodeCache && ![kernel, plain, reference].contains { $0.keepsOwnNodeCache })
        #expect([kernel, reference].allSatisfy { $0.metacopy } && !fuse.metacopy && !plain.metacopy)
        #expect(kernel.clone && fuse.clone && !plain.clone)
        #expect(![kernel, fuse, plain, reference].contains { $0.blockCopyOnWrite })
        #expect(kernel.fsyncsCopyUp && !fuse.fsyncsCopyUp)
        #expect([kernel, fuse, reference].allSatisfy { $0.needsRoot } && !plain.needsRoot)
        #expect(kernel.kernelFilesystems == ["overlay"] && fuse.kernelFilesystems == ["fuse"])
        #expect([kernel, fuse, plain, reference].allSatisfy { $0.lowerLayerImages == nil })
        #expect(plain.copiesLayers && !kernel.copiesLayers)
        #expect([kernel, reference].allSatisfy { $0.takesMountOptions } && !fuse.takesMountOptions && !plain.takesMountOptions)
        #expect(!reference.mergedDirectory && [kernel, fuse, plain].allSatisfy { $0.mergedDirectory })
        #expect(fuse.server == .userSpaceDaemon && reference.server == .inProcess && kernel.server == .kernel)
        #expect([kernel, fuse, plain, reference].allSatisfy { $0.backingFilesystem == nil })
    }

    @Test("a mount-option variant keeps its base's capabilities, and option sets go where options are taken")
    func variants() throws {
        let volatile = try OverlayMountOptions(parsing: "volatile")
        let expanded = MountVariantBackend.expand([ReferenceOverlayBackend(), FuseOverlayBackend(), KernelOverlayBackend()],
                                                  optionSets: [.defaults, volatile])
        #expect(expanded.map(\.identifier) == ["reference", "reference", "fuse", "kernel", "kernel"])
        for variant in expanded {
            #expect(variant.capabilities == BackendKind.capabilities(of: variant.identifier))
        }
        #expect((expanded[2] as? MountVariantBackend)?.options == .defaults, "fuse-overlayfs takes only the defaults")
    }

    @Test("unmet needs name what is missing: root, then each filesystem type")
    func unmetNeeds() {
        let kernel = BackendKind.kernel.capabilities
        #expect(kernel.unmetNeeds(isRoot: false, filesystems: "nodev\toverlay\n") == "it needs root")
        #expect(kernel.unmetNeeds(isRoot: true, filesystems: "nodev\toverlay\n") == nil)
        var needsMissing = kernel
        needsMissing.kernelFilesystems = ["overlay", "no-such-fs"]
        #expect(needsMissing.unmetNeeds(isRoot: true, filesystems: "nodev\toverlay\n")
            == "'no-such-fs' not in /proc/filesystems (modprobe no-such-fs)")
        #expect(BackendKind.plain.capabilities.unmetNeeds(isRoot: false, filesystems: "") == nil)
    }
}
