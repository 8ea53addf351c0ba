import OverlaySystem

extension LayerStack {
    /// The same lower layers under a new, empty container layer `<root>/<id>` (its `diff/`,
    /// `work/` and `merged/` made here): what a runtime does to start one more container from
    /// an image it already has. `id` must be a new name in the stack's root.
    public func withNewContainer(_ id: String) throws -> LayerStack {
        let cwd = FileDescriptor.currentWorkingDirectory
        let container = Layer(id: id, shortName: id, directory: root + "/" + id)
        try cwd.makeDirectory(container.directory, mode: 0o700)
        try cwd.makeDirectory(container.diff, mode: 0o755)
        try cwd.makeDirectory(container.work, mode: 0o700)
        try cwd.makeDirectory(container.merged, mode: 0o755)
        return LayerStack(root: root, spec: spec, lowerLayers: lowerLayers, container: container)
    }
}
