import OverlayCore
import OverlaySystem

/// One view of an imported image per backend (or per backend and place): each over the image's
/// own layers, each with its own container layer in the run directory. Each mount is recorded
/// for the result's environment; ``unmountAll()`` unmounts last-mounted first and only logs a
/// failure, so it can run from `defer` without hiding the error that ended the probe.
final class ImageViewSet {
    private(set) var views: [(stack: LayerStack, view: any MergedView)] = []
    private(set) var directories: [String] = []
    private let log: ProgressLog

    init(log: ProgressLog) { self.log = log }

    @discardableResult
    func mount(
        _ backend: any OverlayBackend, _ workload: ImageWorkload, in directory: String, options: OverlayMountOptions,
        probe: String, mounts: inout [RunEnvironment.MountRecord]
    ) throws -> (stack: LayerStack, view: any MergedView) {
        try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
        directories.append(directory)
        let stack = try workload.stack(in: directory)
        let view = try backend.mount(stack, options: options)
        views.append((stack, view))
        mounts.append(.init(backend: backend.identifier, probe: probe, requestedOptions: (view.requestedOptions ?? options).description,
                            effectiveOptions: view.effectiveOptions, method: view.mountMethod, layers: stack.lowerLayers.count, setup: view.setupFacts))
        log.info("mounted \(workload.image.layers.count) image layers for \(backend.identifier) by \(view.mountMethod)")
        return (stack, view)
    }

    func unmountAll() {
        for entry in views.reversed() {
            do { try entry.view.unmount() } catch { log.warning("unmount \(entry.stack.mergedPath): \(error)") }
        }
        views.removeAll()
    }

    /// The parameters every image measurement carries: which image, and how it is mounted.
    static func parameters(_ workload: ImageWorkload, view: any MergedView, options: OverlayMountOptions, fs: String,
                           cache: CacheState? = nil) -> [String: ParameterValue] {
        var parameters: [String: ParameterValue] = [
            "image": .string(workload.image.source), "imageManifest": .string(workload.image.manifestDigest.description),
            "layers": .int(Int64(workload.image.layers.count)), "fs": .string(fs),
            "mountOptions": .string((view.requestedOptions ?? options).description),
        ]
        if let cache {
            parameters["cache"] = .string(cache.rawValue)
            if cache == .cold { parameters["coldMethod"] = .string(ColdCache.method) }
        }
        return parameters
    }

    /// Warm: read the file through from its layer so its pages are cached. Cold: drop caches.
    static func prepare(_ cache: CacheState, lowerFile: String) throws {
        switch cache {
        case .warm:
            let fd = try FileDescriptor.open(lowerFile, .readOnly)
            defer { fd.closeIgnoringErrors() }
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
            defer { buffer.deallocate() }
            var offset: Int64 = 0
            while case let n = try fd.pread(into: buffer, at: offset), n > 0 { offset += Int64(n) }
        case .cold:
            try PageCache.drop()
        }
    }
}
