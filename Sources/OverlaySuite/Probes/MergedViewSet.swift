import OverlayCore
import OverlaySystem

/// The stacks and mounted views a probe interleaves over: one generated stack and one view per
/// backend (or per backend and place). Each mount is recorded for the result's environment.
/// ``unmountAll()`` unmounts in reverse order and only logs a failure, so it can run from `defer`
/// without hiding the error that ended the probe.
final class MergedViewSet {
    private(set) var views: [(stack: LayerStack, view: any MergedView)] = []
    /// The directories the stacks were generated in, in mount order.
    private(set) var directories: [String] = []
    let log: ProgressLog

    init(log: ProgressLog) { self.log = log }

    /// Generates `spec` in the new directory `directory`, mounts it with `backend`, records the
    /// mount in `mounts`, and returns the stack and its view.
    @discardableResult
    func mount(
        _ backend: any OverlayBackend, spec: LayerStackSpec, in directory: String, options: OverlayMountOptions,
        probe: String, mounts: inout [RunEnvironment.MountRecord]
    ) throws -> (stack: LayerStack, view: any MergedView) {
        try mount(backend, in: directory, options: options, probe: probe, mounts: &mounts) { try LayerStackBuilder(spec: spec).build(in: $0) }
    }

    /// Makes the new directory `directory`, has `stack` lay out a stack in it, mounts that with
    /// `backend`, and records the mount in `mounts`.
    func mount(
        _ backend: any OverlayBackend, in directory: String, options: OverlayMountOptions, probe: String,
        mounts: inout [RunEnvironment.MountRecord], stack make: (_ directory: String) throws -> LayerStack
    ) throws -> (stack: LayerStack, view: any MergedView) {
        try FileDescriptor.currentWorkingDirectory.makeDirectory(directory, mode: 0o755)
        directories.append(directory)
        let stack = try make(directory)
        let view = try backend.mount(stack, options: options)
        views.append((stack, view))
        mounts.append(.init(backend: backend.identifier, probe: probe,
                            requestedOptions: (view.requestedOptions ?? options).description,
                            effectiveOptions: view.effectiveOptions, method: view.mountMethod,
                            layers: stack.lowerLayers.count, setup: view.setupFacts))
        if let summary = mounts.last?.setupSummary { log.info("set up \(backend.identifier) outside the clock: \(summary)") }
        return (stack, view)
    }

    /// One stack of `spec` and one view per backend, each in `<prefix>-<backend>-<index>`,
    /// logging what is generated (`what`) and how each view was mounted.
    func mountEach(
        _ backends: [any OverlayBackend], spec: LayerStackSpec, prefix: String, what: String, options: OverlayMountOptions,
        probe: String, mounts: inout [RunEnvironment.MountRecord]
    ) throws {
        for (index, backend) in backends.enumerated() {
            log.info("generating \(what) for \(backend.identifier)")
            let (_, view) = try mount(backend, spec: spec, in: "\(prefix)-\(backend.identifier)-\(index)", options: options,
                                      probe: probe, mounts: &mounts)
            log.info("mounted \(backend.identifier) by \(view.mountMethod): \(view.effectiveOptions)")
        }
    }

    /// Records each view's upper and work footprint (``Footprint``) after its samples, with
    /// `parameters(view)`.
    func recordFootprints(probe: String, book: SampleBook, parameters: (any MergedView) -> [String: ParameterValue]) throws {
        for (stack, view) in views {
            try Footprint.record(probe: probe, view: view, workPath: stack.workPath, parameters: parameters(view), book: book)
        }
    }

    /// Removes the stacks' directories (and `others`) that nothing is mounted under any more,
    /// so the next cache state's trees have the space; a failure is only logged.
    func removeTrees(and others: [String] = []) {
        for directory in directories + others where MountTable.current().mounts(under: directory).isEmpty {
            do { try TreeRemover.remove(directory) } catch { log.warning("remove \(directory): \(error)") }
        }
    }

    /// Unmounts every view, last mounted first.
    func unmountAll() {
        for entry in views.reversed() {
            do { try entry.view.unmount() } catch { log.warning("unmount \(entry.stack.mergedPath): \(error)") }
        }
        views.removeAll()
    }
}
