import Foundation

/// A report across hosts: for each metric, one column per host with its p50, so the same
/// benchmark on several machines reads as one table.
public struct MergeReport: Sendable {
    public var inputs: [ReportWriter.Input]

    public init(inputs: [ReportWriter.Input]) { self.inputs = inputs }

    /// Column headers: the host name, with the file's position when two files share a host.
    public var columnTitles: [String] {
        let hosts = inputs.map(\.result.environment.hostname)
        return inputs.enumerated().map { index, input in
            let host = input.result.environment.hostname
            return hosts.filter { $0 == host }.count > 1 ? "\(host) (#\(index + 1))" : host
        }
    }

    public func document() -> ReportDocument {
        var document = ReportDocument(title: "OverlayBench across hosts")
        document.append(.paragraph("p50 of every measurement, one column per result file: " + inputs.map { "`\($0.path)`" }.joined(separator: ", ") + "."))
        document.append(.heading(level: 2, "Hosts"))
        document.append(.table(
            header: ["column", "kernel", "CPU", "memory", "backing filesystems", "overlay options (effective, layer paths removed)", "git"],
            rows: zip(columnTitles, inputs).map { title, input in
                let e = input.result.environment
                let mounts = Set(e.mounts.map { Comparison.withoutLayerPaths($0.effectiveOptions) }).sorted()
                return [title, e.kernel, "\(e.cpuModel) × \(e.cpuCount)", ByteCountFormatter.string(fromByteCount: e.memoryBytes, countStyle: .binary),
                        e.backingFilesystems.map { "\($0.name): \($0.type)" }.joined(separator: ", "),
                        mounts.isEmpty ? "–" : mounts.joined(separator: "; "), String(e.gitRevision.prefix(12))]
            },
            numeric: []))

        var order: [String] = []
        var byIdentity: [String: [Int: Measurement]] = [:]
        for (index, input) in inputs.enumerated() {
            for m in input.result.measurements {
                if byIdentity[m.identity] == nil { order.append(m.identity) }
                byIdentity[m.identity, default: [:]][index] = m
            }
        }
        var probes: [String] = []
        for identity in order {
            let probe = byIdentity[identity]!.values.first!.probe
            if !probes.contains(probe) { probes.append(probe) }
        }
        for probe in probes {
            document.append(.heading(level: 2, "Probe `\(probe)`"))
            var rows: [[String]] = []
            for identity in order {
                let row = byIdentity[identity]!
                let sample = row.values.first!
                guard sample.probe == probe else { continue }
                var cells = [sample.backend, sample.metric, sample.parameterLabel]
                cells += inputs.indices.map { index in
                    guard let m = row[index] else { return "–" }
                    guard m.hasSamples, let s = m.summary else { return "skipped" }
                    return ResultTable.format(value: s.p50, unit: m.unit)
                }
                rows.append(cells)
            }
            document.append(.table(header: ["backend", "metric", "parameters"] + columnTitles.map { "p50 \($0)" },
                                   rows: rows, numeric: Set(3..<(3 + inputs.count))))
        }
        return document
    }

    /// Writes `report.md` and `report.html` into `directory` (made if missing, one level only:
    /// a missing parent is an ``OutputFileError`` with `ENOENT`); returns their paths.
    public func write(to directory: String) throws -> [String] {
        try AtomicFile.makeDirectory(directory)
        let document = document()
        let markdown = (directory as NSString).appendingPathComponent("report.md")
        let html = (directory as NSString).appendingPathComponent("report.html")
        try AtomicFile.write(Data(document.markdown().utf8), to: markdown, overwrite: true)
        try AtomicFile.write(Data(document.html().utf8), to: html, overwrite: true)
        return [markdown, html]
    }
}
