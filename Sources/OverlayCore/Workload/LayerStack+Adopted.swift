import OverlaySystem

extension LayerStack {
    /// Presents existing layer directories (lower top-first, upper, work) as a stack in
    /// overlay2's layout, so any ``OverlayBackend`` can mount them: `scratch/overlay2/<id>/diff`
    /// are symlinks to the given directories, and `scratch/overlay2/container/merged` is a new,
    /// empty mount point. `scratch` must exist; the directories must be absolute paths.
    public static func adopting(lower: [String], upper: String, work: String, scratch: String) throws -> LayerStack {
        let cwd = FileDescriptor.currentWorkingDirectory
        let root = scratch + "/overlay2"
        try cwd.makeDirectory(root, mode: 0o700)
        try cwd.makeDirectory(root + "/l", mode: 0o700)
        var layers: [Layer] = []
        for (index, path) in lower.enumerated() {
            let layer = Layer(id: "lower\(index)", shortName: "L\(index)", directory: root + "/lower\(index)")
            try cwd.makeDirectory(layer.directory, mode: 0o700)
            try cwd.makeSymlink(layer.diff, target: path)
            try cwd.makeSymlink(root + "/l/" + layer.shortName, target: path)
            layers.append(layer)
        }
        let container = Layer(id: "container", shortName: "C", directory: root + "/container")
        try cwd.makeDirectory(container.directory, mode: 0o700)
        try cwd.makeSymlink(container.diff, target: upper)
        try cwd.makeSymlink(container.work, target: work)
        try cwd.makeDirectory(container.merged, mode: 0o755)
        return LayerStack(root: root, spec: LayerStackSpec(layerCount: lower.count, seed: 0), lowerLayers: layers, container: container)
    }
}
