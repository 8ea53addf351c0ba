import Foundation
import OverlayCore

/// What `overlaybench image DIR` prints: the layers, top first, with what import counted in
/// each and what the merged view shows of it, the deepest path, and the merged view's file-size
/// histogram.
public enum ImageReport {
    public static func render(_ catalog: ImageCatalog) -> String {
        let image = catalog.image
        let files = catalog.regularFiles
        let bytes = files.reduce(Int64(0)) { $0 + $1.size }
        var lines: [String] = []
        lines.append("image \(image.source) (\(image.transport.rawValue))")
        lines.append("manifest \(image.manifestDigest), config \(image.configDigest)\(image.rootless ? ", rootless" : "")")
        lines.append("\(image.layers.count) layers, \(HumanUnits.bytes(Double(image.layers.reduce(0) { $0 + $1.compressedSize }))) stored, "
                     + "\(HumanUnits.bytes(Double(image.uncompressedBytes))) of layer tars; the merged view shows "
                     + "\(files.count) files (\(HumanUnits.bytes(Double(bytes)))) in \(catalog.entries.count) entries")
        lines.append("")
        var rows: [[String]] = [["layer", "id", "digest", "compression", "stored", "tar", "files", "bytes", "dirs", "symlinks",
                                 "hardlinks", "whiteouts", "opaque", "hidden", "shown files"]]
        for (index, layer) in image.layers.enumerated() {
            let summary = catalog.layers[index]
            let position = index == 0 ? "\(index) top" : index == image.layers.count - 1 ? "\(index) bottom" : "\(index)"
            rows.append([
                position, String(layer.id.prefix(12)), layer.digest.short, layer.compression.rawValue,
                HumanUnits.bytes(Double(layer.compressedSize)), HumanUnits.bytes(Double(layer.uncompressedSize)),
                "\(layer.counts.files)", HumanUnits.bytes(Double(layer.counts.fileBytes)), "\(layer.counts.directories)",
                "\(layer.counts.symlinks)", "\(layer.counts.hardLinks)", "\(layer.counts.whiteouts)",
                "\(layer.counts.opaqueDirectories)", "\(summary.hidden)", "\(summary.visibleFiles)",
            ])
        }
        lines += table(rows, rightAligned: Set(4..<15))
        lines.append("")
        if let deepest = catalog.deepestPath {
            lines.append("deepest path: \(deepest.path) (\(deepest.depth) components, \(deepest.type == .directory ? "a directory" : "a file"), from layer \(deepest.layer))")
        }
        let whiteouts = catalog.whiteouts.prefix(5).map { "\($0.path) (layer \($0.layer))" }
        if !whiteouts.isEmpty {
            lines.append("whiteouts: \(catalog.whiteouts.count): \(whiteouts.joined(separator: ", "))\(catalog.whiteouts.count > 5 ? ", …" : "")")
        }
        let opaque = catalog.opaqueDirectories.prefix(5).map { "\($0.path) (layer \($0.layer))" }
        if !opaque.isEmpty {
            lines.append("opaque directories: \(catalog.opaqueDirectories.count): \(opaque.joined(separator: ", "))\(catalog.opaqueDirectories.count > 5 ? ", …" : "")")
        }
        lines.append("")
        lines.append("file sizes in the merged view:")
        var histogram: [[String]] = [["size", "files", "share", "bytes", ""]]
        let histogramRows = catalog.sizeHistogram()
        let widest = histogramRows.map(\.files).max() ?? 1
        for row in histogramRows {
            let share = files.isEmpty ? 0 : Double(row.files) / Double(files.count) * 100
            histogram.append([row.sizeClass.description, "\(row.files)", String(format: "%.1f%%", share),
                              HumanUnits.bytes(Double(row.bytes)), String(repeating: "#", count: max(1, row.files * 40 / max(widest, 1)))])
        }
        lines += table(histogram, rightAligned: [1, 2, 3])
        return lines.joined(separator: "\n") + "\n"
    }

    /// What `overlaybench report` adds for a copy-up run on an image: the image's file-size
    /// histogram, with the files sampled in each class, and what first-writing a share of its
    /// files costs in each configuration (``ImageCopyUpModel``).
    public static func blocks(_ model: ImageCopyUpModel, host: String) -> [ReportDocument.Block] {
        let shareOfFiles = { (files: Int) in model.files == 0 ? "–" : String(format: "%.1f%%", Double(files) / Double(model.files) * 100) }
        let shareOfBytes = { (bytes: Int64) in model.bytes == 0 ? "–" : String(format: "%.1f%%", Double(bytes) / Double(model.bytes) * 100) }
        let rows = model.histogram.map { row in
            [row.sizeClass.description, "\(row.files)", shareOfFiles(row.files), HumanUnits.bytes(Double(row.bytes)), shareOfBytes(row.bytes), "\(row.sampled)"]
        } + [["all", "\(model.files)", "100%", HumanUnits.bytes(Double(model.bytes)), "100%", "\(model.sampledFiles)"]]
        return [
            .heading(level: 3, "Image `\(model.image)`: file sizes and what first-writing them costs"),
            .paragraph("The image's regular files by size class (manifest `\(model.manifest)`), and how many of each class the run first-wrote."),
            .table(header: ["size class", "files", "share of files", "bytes", "share of bytes", "sampled"], rows: rows, numeric: [1, 2, 3, 4, 5]),
            .bullets(model.sentences(host: host)),
        ]
    }

    static func table(_ rows: [[String]], rightAligned: Set<Int>) -> [String] {
        guard let header = rows.first else { return [] }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        func line(_ row: [String]) -> String {
            row.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return rightAligned.contains(column) ? pad + cell : cell + pad
            }.joined(separator: "  ").replacing(/\s+$/, with: "")
        }
        return [line(header), line(widths.map { String(repeating: "-", count: $0) })] + rows.dropFirst().map(line)
    }
}
