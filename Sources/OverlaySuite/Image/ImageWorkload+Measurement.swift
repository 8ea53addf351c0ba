import OverlayCore

/// What the image probes record about the image they measure.
extension ImageWorkload {
    /// The parameters every image measurement carries: which image, and how `view` mounts it
    /// (the sampler adds the plan's: cache, fs, quiesce, order).
    func parameters(_ view: any MergedView, options: OverlayMountOptions) -> [String: ParameterValue] {
        imageParameters.merging(["mountOptions": .string((view.requestedOptions ?? options).description)]) { $1 }
    }

    /// Which image: its source, manifest and layer count.
    var imageParameters: [String: ParameterValue] {
        ["image": .string(image.source), "imageManifest": .string(image.manifestDigest.description),
         "layers": .int(Int64(image.layers.count))]
    }

    /// The filesystems a timed call through `view` touches: its upper layer and the image's
    /// layers where they are (not the stack's links to them, which may be on another filesystem).
    func quiescePaths(_ view: any MergedView) -> [String] { [view.upperPath] + lowerPaths }
}
