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
        let readPlots = ["warm", "cold"].compactMap { readCDF(all, cache: $0) }
        if readPlots.isEmpty { add(nil, missing: "No read probe samples: the read-latency CDF is skipped.") }
        for plot in readPlots { add(plot, missing: "") }
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
            xLabel: "lower file size", yLabel: "first-write latency", logX: true, logY: true,
            xTics: sizeTics(data), yTics: latencyTics(series), series: series,
            caption: caption(data, scope: .fileCreation) + zeroSizeNote(data))
    }

    func firstVersusSecondWrite(_ all: [Sourced]) -> ReportPlot? {
        var data = all.filter { $0.measurement.probe == "copyup" && ["firstWrite", "secondWrite"].contains($0.measurement.metric) && $0.measurement.sizeBytes != nil }
        guard data.contains(where: { $0.measurement.metric == "secondWrite" }), data.contains(where: { $0.measurement.metric == "firstWrite" }) else { return nil }
        // The pair is the point: one cache state keeps it legible (warm, when measured).
        let caches = orderedUnique(data.map { $0.measurement.text("cache") })
        let shown = caches.contains("warm") ? "warm" : caches[0]
        data = data.filter { $0.measurement.text("cache") == shown }
        // Colour is the setup, dashes tell the second write from the first.
        var series: [ReportPlot.Series] = []
        for (index, (label, members)) in groupedBySetup(data).enumerated() {
            for (metric, name, dash) in [("firstWrite", "first write", 1), ("secondWrite", "second write", 2)] {
                let points = sizePoints(members.filter { $0.measurement.metric == metric }, scale: 1e-3)
                if !points.isEmpty {
                    series.append(ReportPlot.Series(title: "\(label): \(name)", style: .errorLines, points: points, color: index, dash: dash))
                }
            }
        }
        let others = caches.filter { $0 != shown }
        return ReportPlot(
            name: "copyup-first-vs-second",
            title: "First write (copy-up, solid) against second write (upper, dashed), \(shown) cache (p50, bars p10–p90)",
            xLabel: "lower file size", yLabel: "write latency", logX: true, logY: true,
            xTics: sizeTics(data), yTics: latencyTics(series), series: series,
            caption: caption(data, scope: .fileCreation) + zeroSizeNote(data)
                + (others.isEmpty ? "" : " · the \(others.joined(separator: ", ")) cache runs are in the table"))
    }

    /// The per-read latency CDF for one cache state (`read-latency-cdf` is the warm one, or the
    /// only one): colour is the backend and place, dashes the depth.
    func readCDF(_ all: [Sourced], cache: String) -> ReportPlot? {
        // The per-read latency is the CDF worth reading; open and first-byte are one-off costs.
        let reads = all.filter { $0.measurement.probe == "read" && $0.measurement.unit == "ns" && $0.measurement.text("cache") == cache }
        let preferred = reads.filter { $0.measurement.metric == "randomRead" }
        let data = preferred.isEmpty ? reads : preferred
        guard !data.isEmpty else { return nil }
        // How a view was mounted and how the cache was emptied follow from the backend and the
        // cache state: they are in the environment section, not in every legend entry.
        let varying = varyingParameters(data.map(\.measurement)).filter { !["mountMethod", "coldMethod", "place", "cache"].contains($0) }
        var setups: [String] = []
        var depths: [String] = []
        let series = data.map { item in
            let m = item.measurement
            let sorted = m.samples.sorted()
            let points = sorted.enumerated().map { index, value in
                ReportPlot.Point(x: value / 1_000, y: Double(index + 1) / Double(sorted.count))
            }
            let place = m.text("place") == m.backend ? "" : m.text("place")
            let setup = [inputLabel(item), m.backend, place].filter { !$0.isEmpty }.joined(separator: " ")
            let rest = varying.map { name in "\(name)=\(m.parameters[name].map { Measurement.format(parameter: name, $0) } ?? "")" }
                .joined(separator: " ")
            if !setups.contains(setup) { setups.append(setup) }
            if !depths.contains(rest) { depths.append(rest) }
            let title = [setup, m.metric == "randomRead" ? "" : m.metric, rest].filter { !$0.isEmpty }.joined(separator: " ")
            return ReportPlot.Series(title: title, style: .steps, points: points,
                                     color: setups.firstIndex(of: setup)!, dash: depths.firstIndex(of: rest)! + 1)
        }
        // The title names the places that are plotted, not the ones a run might have had.
        let places = orderedUnique(data.map { $0.measurement.text("place") }.filter { !$0.isEmpty })
        let what = places.isEmpty ? "" : " of " + Self.listed(places) + " files"
        let warmFirst = cache == "warm" || !all.contains { $0.measurement.probe == "read" && $0.measurement.text("cache") == "warm" }
        return ReportPlot(
            name: warmFirst ? "read-latency-cdf" : "read-latency-cdf-\(cache)",
            title: "Read latency, \(cache) cache: empirical CDF\(what)",
            xLabel: "read latency", yLabel: "fraction of reads ≤ x", logX: true,
            xTics: ReportPlot.latencyTics(microseconds: series.flatMap { $0.points.map(\.x) }),
            yRange: 0...1, series: series,
            caption: "colour: backend and place\(depths.count > 1 ? ", dashes: " + varying.joined(separator: ", ") : "") · " + caption(data, scope: .all))
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
            xLabel: "depth (layers)", yLabel: "lookup latency", logY: true, yTics: latencyTics(series), series: series,
            caption: caption(data, scope: cache == "cold" ? .coldFuseLookups : .all))
    }

    func copyEngineThroughput(_ all: [Sourced]) -> ReportPlot? {
        let data = all.filter { $0.measurement.probe == "copy" && $0.measurement.metric == "throughput" && $0.measurement.sizeBytes != nil }
        guard !data.isEmpty else { return nil }
        // One line per engine and per setting of whatever else varies (the cache state, …):
        // measurements of one size under two settings would otherwise zig-zag on one line.
        let varying = varyingParameters(data.map(\.measurement)).filter { !["size", "engine"].contains($0) }
        var order: [String] = []
        var engines: [String] = []
        var settings: [String] = []
        var groups: [String: [Sourced]] = [:]
        var styles: [String: (color: Int, dash: Int)] = [:]
        for item in data {
            let engine = item.measurement.text("engine")
            let name = [inputLabel(item), engine.isEmpty ? item.measurement.backend : engine].filter { !$0.isEmpty }.joined(separator: " ")
            let setting = varying.map { "\($0)=\(item.measurement.text($0))" }.joined(separator: " ")
            let label = [name, setting].filter { !$0.isEmpty }.joined(separator: " ")
            if !engines.contains(name) { engines.append(name) }
            if !settings.contains(setting) { settings.append(setting) }
            if groups[label] == nil {
                order.append(label)
                styles[label] = (engines.firstIndex(of: name)!, settings.firstIndex(of: setting)! + 1)
            }
            groups[label, default: []].append(item)
        }
        let series = order.map { label in
            let isCeiling = groups[label]!.allSatisfy { $0.measurement.text("engine") == "memcpy" }
            return ReportPlot.Series(
                title: isCeiling ? "\(label) (ceiling)" : label, style: isCeiling ? .reference : .errorLines,
                points: sizePoints(groups[label]!, scale: 1),
                color: isCeiling ? nil : styles[label]!.color, dash: styles[label]!.dash)
        }
        return ReportPlot(
            name: "copy-engine-throughput", title: "Copy engines: throughput against size (p50, bars p10–p90; memcpy is the ceiling)",
            xLabel: "file size", yLabel: "throughput (\(data[0].measurement.unit))", logX: true,
            xTics: sizeTics(data), series: series, caption: caption(data, scope: .all))
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

    /// Human latency tics for series whose y values are microseconds, bars included.
    func latencyTics(_ series: [ReportPlot.Series]) -> [(String, Double)] {
        ReportPlot.latencyTics(microseconds: series.flatMap { $0.points.flatMap { [$0.low, $0.high, $0.y] } })
    }

    /// A log axis has no 0: say where the 0-byte first writes went, when there are any.
    func zeroSizeNote(_ data: [Sourced]) -> String {
        data.contains { $0.measurement.sizeBytes == 0 } ? " · 0 B files are left off the log axis; their figures are in the table" : ""
    }

    /// `a`, `a and b`, `a, b and c`.
    static func listed(_ items: [String]) -> String {
        items.count <= 1 ? items.joined() : items.dropLast().joined(separator: ", ") + " and " + items.last!
    }

    /// The caption with the caveats that affect this plot's figures.
    func caption(_ data: [Sourced], scope: ReportCaveat.Scope) -> String {
        var seen: Set<String> = []
        let inputsShown = Set(data.map(\.input)).sorted()
        let caveats = inputsShown.flatMap { index in
            ReportCaveat.caveats(inputs[index].result.environment, inputs[index].result.measurements)
        }.filter { ($0.scope == .all || $0.scope == scope) && seen.insert($0.text).inserted }
        return caption(data) + caveats.map { " · caveat: \($0.text)" }.joined()
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

    func orderedUnique(_ values: [String]) -> [String] {
        var seen: Set<String> = []
        return values.filter { seen.insert($0).inserted }
    }
}
