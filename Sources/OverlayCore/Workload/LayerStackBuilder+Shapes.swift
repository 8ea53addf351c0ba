import OverlaySystem

/// Writes a ``StackShapes`` into the layer directories of a freshly built ``LayerStack``.
///
/// Directories and files come first, then opaque markers, then whiteouts, so that a whiteout can
/// never be replaced by a later entry of the same layer (a clash throws `EEXIST` instead).
struct ShapeBuilder {
    let shapes: StackShapes
    let seed: UInt64

    static let opaqueAttribute = "trusted.overlay.opaque"

    func build(_ stack: LayerStack) throws {
        let layers = stack.lowerLayers
        for directory in shapes.mergedDirectories {
            for (index, layer) in layers.enumerated() {
                try makeFiles(directory.fileNames(inLayer: index), in: layer.diff + "/" + directory.path)
            }
        }
        for directory in shapes.wideDirectories {
            for index in directory.layerIndices(layerCount: layers.count) {
                try makeFiles(directory.entryNames(inLayer: index, seed: seed), in: layers[index].diff + "/" + directory.path)
            }
        }
        for deep in shapes.deepPaths {
            let leaf = layers[deep.layer].diff + "/" + deep.leafPath
            try makeFiles([String(leaf.split(separator: "/").last!)], in: String(leaf.dropLast("/leaf".count)))
        }
        for opaque in shapes.opaqueDirectories {
            let path = layers[opaque.layer].diff + "/" + opaque.path
            try makeFiles(opaque.fileNames, in: path)
            try ExtendedAttributes.set(Self.opaqueAttribute, value: Array("y".utf8), path: path)
        }
        for whiteout in shapes.whiteouts {
            let path = layers[whiteout.layer].diff + "/" + whiteout.path
            let parent = String(path.dropLast(path.split(separator: "/").last!.count + 1))
            try makeDirectories(parent)
            try FileDescriptor.currentWorkingDirectory.makeNode(path, type: .characterDevice, permissions: 0, major: 0, minor: 0)
        }
    }

    /// `mkdir -p` of `path`, then an empty file for each name in it.
    private func makeFiles(_ names: [String], in path: String) throws {
        try makeDirectories(path)
        let directory = try FileDescriptor.open(path, [.readOnly, .directory, .noFollow])
        defer { directory.closeIgnoringErrors() }
        for name in names {
            let fd = try FileDescriptor.open(name, [.writeOnly, .create, .exclusive, .noFollow], mode: 0o644, relativeTo: directory)
            fd.closeIgnoringErrors()
        }
    }

    /// `mkdir -p` for an absolute path; existing directories are fine.
    private func makeDirectories(_ path: String) throws {
        var prefix = ""
        for component in path.split(separator: "/") {
            prefix += "/" + component
            do {
                try FileDescriptor.currentWorkingDirectory.makeDirectory(prefix, mode: 0o755)
            } catch {
                if error.errno != .fileExists { throw error }
            }
        }
    }
}
