import OverlayCore

extension MergedViewSet {
    /// One view of an imported image with `backend`: the image's own layers under a container
    /// layer of its own, made in the new directory `directory` (``ImageWorkload/stack(in:)``).
    @discardableResult
    func mount(
        _ backend: any OverlayBackend, _ workload: ImageWorkload, in directory: String, options: OverlayMountOptions,
        probe: String, mounts: inout [RunEnvironment.MountRecord]
    ) throws -> (stack: LayerStack, view: any MergedView) {
        let mounted = try mount(backend, in: directory, options: options, probe: probe, mounts: &mounts) { try workload.stack(in: $0) }
        log.info("mounted \(workload.image.layers.count) image layers for \(backend.identifier) by \(mounted.view.mountMethod)")
        return mounted
    }
}
