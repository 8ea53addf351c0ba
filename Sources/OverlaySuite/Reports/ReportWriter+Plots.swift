import Foundation
import OverlayCore

/// The report's plots, built from the measurements; a plot without data becomes a note instead.
extension ReportWriter {
    /// A measurement with the environment it was taken in and which input it came from.
    struct Sourced {
        var input: Int
        var measurement: Measurement
        var environment: RunEnvironment
    }

    func plots() -> (plots: [ReportPlot], notes: [String]) {
        let all = inputs.enumerated().flatMap { index, input in
            input.result.measurements.filter(\.hasSamples).map {
                Sourced(input: index, measurement: $0, environment: input.result.environment)
            }
        }
        var plots: [ReportPlot] = []
        var notes: [String] = []
        func add(_ plot: ReportPlot?, missing: String) {
            if let plot { plots.append(plot) } else { notes.append(missing) }
        }
        add(copyUpLatency(all), missing: "No copy-up firstWrite measurements: the copy-up latency plot is skipped.")
        add(firstVersusSecondWrite(all), missing: "No copy-up firstWrite/secondWrite pairs: the first-vs-second-write plot is skipped.")
        add(readCDF(all), missing: "No read probe samples: the read-latency CDF (lower/upper/plain) is skipped.")
        let lookupPlots = ["warm", "cold"].compactMap { lookupDepth(all, cache: $0) }
        if lookupPlots.isEmpty {
            add(nil, missing: "No lookup measurements with a depth: the lookup-latency-vs-depth plot is skipped.")
        }
        for plot in lookupPlots { add(plot, missing: "") }
        add(copyEngineThroughput(all), missing: "No copy-engine throughput measurements: the copy-engine plot is skipped.")
        return (plots, notes)
    }

    // MARK: - The plots

    func copyUpLatency(_ all: [Sourced]) -> ReportPlot? {
        let data = all.filter { $0.measurement.probe == "copyup" && $0.measurement.metric == "firstWrite" && $0.measurement.sizeBytes != nil }
        guard !data.isEmpty else { return nil }
        // Colour names the backend and options; a cold cache is dashed, so ten lines stay legible.
        var setups: [String] = []
        let series = groupedBySetup(data).map { label, members in
            let m = members[0].measurement
            let setup = "\(inputLabel(members[0])) \(m.backend) \(m.text("mountOptions"))"
            if !setups.contains(setup) { setups.append(setup) }
            return ReportPlot.Series(title: label, style: .errorLines, points: sizePoints(members, scale: 1e-3),
                                     color: setups.firstIndex(of: setup)!, dash: m.text("cache") == "cold" ? 2 : 1)
        }
        return ReportPlot(
            name: "copyup-latency", title: "Copy-up: first-write latency against file size (p50, bars p10–p90)",
            xLabel: "lower file size", yLabel: "first-write latency (µs)", logX: true, logY: true,
            xTics: sizeTics(data), series: series, caption: caption(data))
    }

    func firstVersusSecondWrite(_ all: [Sourced]) -> ReportPlot? {
        let data = all.filter { $0.measurement.probe == "copyup" && ["firstWrite", "secondWrite"].contains($0.measurement.metric) && $0.measurement.sizeBytes != nil }
        guard data.contains(where: { $0.measurement.metric == "secondWrite" }), data.contains(where: { $0.measurement.metric == "firstWrite" }) else { return nil }
        var series: [ReportPlot.Series] = []
        for (label, members) in groupedBySetup(data) {
            for (metric, name) in [("firstWrite", "first write (copy-up)"), ("secondWrite", "second write (upper)")] {
                let points = sizePoints(members.filter { $0.measurement.metric == metric }, scale: 1e-3)
                if !points.isEmpty { series.append(ReportPlot.Series(title: "\(label): \(name)", style: .errorLines, points: points)) }
            }
        }
        return ReportPlot(
            name: "copyup-first-vs-second", title: "First write (copy-up) against second write (p50, bars p10–p90)",
            xLabel: "lower file size", yLabel: "write latency (µs)", logX: true, logY: true,
            xTics: sizeTics(data), series: series, caption: caption(data))
    }

    func readCDF(_ all: [Sourced]) -> ReportPlot? {
        // The per-read latency is the CDF worth reading; open and first-byte are one-off costs.
        let reads = all.filter { $0.measurement.probe == "read" && $0.measurement.unit == "ns" }
        let preferred = reads.filter { $0.measurement.metric == "randomRead" }
        let data = preferred.isEmpty ? reads : preferred
        guard !data.isEmpty else { return nil }
        let varying = varyingParameters(data.map(\.measurement))
        let series = data.map { item in
            let sorted = item.measurement.samples.sorted()
            let points = sorted.enumerated().map { index, value in
                ReportPlot.Point(x: value / 1_000, y: Double(index + 1) / Double(sorted.count))
            }
            let parameters = varying.map { name in
                "\(name)=\(item.measurement.parameters[name].map { Measurement.format(parameter: name, $0) } ?? "")"
            }
            let title = ([inputLabel(item), item.measurement.backend, item.measurement.metric] + parameters).filter { !$0.isEmpty }.joined(separator: " ")
            return ReportPlot.Series(title: title, style: .steps, points: points)
        }
        return ReportPlot(
            name: "read-latency-cdf", title: "Read latency: empirical CDF (lower, upper and plain files)",
            xLabel: "read latency (µs)", yLabel: "fraction of reads ≤ x", logX: true,
            yRange: 0...1, series: series, caption: caption(data))
    }

    /// Lookup latency against depth for one cache state: colour is the position, dashes the backend.
    func lookupDepth(_ all: [Sourced], cache: String) -> ReportPlot? {
        // A lookup is a stat; readdir lists whole directories and is milliseconds, not microseconds.
        let data = all.filter {
            $0.measurement.probe == "lookup" && $0.measurement.metric == "stat"
                && $0.measurement.parameters["depth"]?.intValue != nil && $0.measurement.text("cache") == cache
        }
        guard !data.isEmpty else { return nil }
        let positions = ["top", "middle", "bottom", "negative", "whiteout", "directory", "deep"]
        var backends: [String] = []
        var order: [String] = []
        var groups: [String: [Sourced]] = [:]
        var styles: [String: (color: Int, dash: Int)] = [:]
        for item in data {
            let m = item.measurement
            let backend = [inputLabel(item), m.backend].filter { !$0.isEmpty }.joined(separator: " ")
            if !backends.contains(backend) { backends.append(backend) }
            let position = m.text("position")
            let label = "\(backend) \(position)"
            if groups[label] == nil {
                order.append(label)
                styles[label] = (positions.firstIndex(of: position) ?? positions.count, backends.firstIndex(of: backend)! + 1)
            }
            groups[label, default: []].append(item)
        }
        let series = order.map { label in
            let points = groups[label]!.map { item -> ReportPlot.Point in
                let m = item.measurement
                return ReportPlot.Point(x: Double(m.parameters["depth"]!.intValue!), y: m.percentile(50)! / 1_000,
                                        low: m.percentile(10)! / 1_000, high: m.percentile(90)! / 1_000)
            }.sorted { $0.x < $1.x }
            return ReportPlot.Series(title: label, style: .errorLines, points: points,
                                     color: styles[label]!.color, dash: styles[label]!.dash)
        }
        return ReportPlot(
            name: "lookup-depth-\(cache)",
            title: "Lookup (stat) latency against layer depth, \(cache) cache (p50, bars p10–p90; colour: position, dashes: backend)",
            xLabel: "depth (layers)", yLabel: "lookup latency (µs)", logY: true, series: series, caption: caption(data))
    }

    func copyEngineThroughput(_ all: [Sourced]) -> ReportPlot? {
        let data = all.filter { $0.measurement.probe == "copy" && $0.measurement.metric == "throughput" && $0.measurement.sizeBytes != nil }
        guard !data.isEmpty else { return nil }
        var order: [String] = []
        var groups: [String: [Sourced]] = [:]
        for item in data {
            let engine = item.measurement.text("engine")
            let label = [inputLabel(item), engine.isEmpty ? item.measurement.backend : engine].filter { !$0.isEmpty }.joined(separator: " ")
            if groups[label] == nil { order.append(label) }
            groups[label, default: []].append(item)
        }
        let series = order.map { label in
            let isCeiling = groups[label]!.allSatisfy { $0.measurement.text("engine") == "memcpy" }
            return ReportPlot.Series(
                title: isCeiling ? "\(label) (ceiling)" : label, style: isCeiling ? .reference : .errorLines,
                points: sizePoints(groups[label]!, scale: 1))
        }
        return ReportPlot(
            name: "copy-engine-throughput", title: "Copy engines: throughput against size (p50, bars p10–p90; memcpy is the ceiling)",
            xLabel: "file size", yLabel: "throughput (\(data[0].measurement.unit))", logX: true,
            xTics: sizeTics(data), series: series, caption: caption(data))
    }

    // MARK: - Helpers

    /// Series by backend and option set (mount options, cache, fs), in order of first appearance.
    func groupedBySetup(_ data: [Sourced]) -> [(String, [Sourced])] {
        var order: [String] = []
        var groups: [String: [Sourced]] = [:]
        let caches = Set(data.map { $0.measurement.text("cache") })
        let filesystems = Set(data.map { $0.measurement.text("fs") })
        for item in data {
            let m = item.measurement
            var parts = [inputLabel(item), m.backend, Measurement.format(parameter: "mountOptions", m.parameters["mountOptions"] ?? "")]
            if caches.count > 1 { parts.append("\(m.text("cache")) cache") }
            if filesystems.count > 1 { parts.append("fs \(m.text("fs"))") }
            let label = parts.filter { !$0.isEmpty }.joined(separator: " ")
            if groups[label] == nil { order.append(label) }
            groups[label, default: []].append(item)
        }
        return order.map { ($0, groups[$0]!) }
    }

    /// (size, p50, p10, p90) per measurement, values multiplied by `scale`, sorted by size.
    func sizePoints(_ members: [Sourced], scale: Double) -> [ReportPlot.Point] {
        members.compactMap { item in
            let m = item.measurement
            guard let size = m.sizeBytes, size > 0, let p50 = m.percentile(50) else { return nil }
            return ReportPlot.Point(x: Double(size), y: p50 * scale, low: m.percentile(10)! * scale, high: m.percentile(90)! * scale)
        }.sorted { $0.x < $1.x }
    }

    func sizeTics(_ data: [Sourced]) -> [(String, Double)] {
        Set(data.compactMap(\.measurement.sizeBytes)).filter { $0 > 0 }.sorted().map { (ByteCount.format($0), Double($0)) }
    }

    /// `#2` when the report covers several files, so their series stay apart.
    func inputLabel(_ item: Sourced) -> String { inputs.count > 1 ? "#\(item.input + 1)" : "" }

    func varyingParameters(_ measurements: [Measurement]) -> [String] {
        Measurement.orderedParameterNames(measurements.flatMap { $0.parameters.keys }).filter { name in
            Set(measurements.map { $0.text(name) }).count > 1
        }
    }

    /// `kernel 6.8.0 · fs root: ext4 (rw,relatime) · overlay options: defaults, volatile`.
    func caption(_ data: [Sourced]) -> String {
        let kernels = orderedUnique(data.map(\.environment.kernel))
        let filesystems = orderedUnique(data.flatMap { item in
            item.environment.backingFilesystems.map { "\($0.name): \($0.type) (\($0.mountOptions))" }
        })
        let options = orderedUnique(data.map { Measurement.format(parameter: "mountOptions", $0.measurement.parameters["mountOptions"] ?? "") })
        var parts = ["kernel " + kernels.joined(separator: ", ")]
        parts.append("fs " + (filesystems.isEmpty ? "unknown" : filesystems.joined(separator: ", ")))
        parts.append("overlay options: " + options.joined(separator: ", "))
        return parts.joined(separator: " · ")
    }

    private func orderedUnique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }
}
