import Foundation
import OverlayCore
import Yams

/// A suite: which probes to run, on which backends, option sets and filesystems, with which
/// sizes, depths, samples and caches. `overlaybench run --suite FILE` runs every entry into one
/// result file. Decoding is strict: an unknown key or a value of the wrong type is an error
/// naming the key and its line, so a typo never silently falls back to a default.
///
/// ```yaml
/// name: quick
/// fsSize: 2GiB
/// probes:
///   - probe: copyup
///     backends: [kernel]
///     mountOptions: ["", volatile]
///     filesystems: [root, xfs]
///     sizes: [0, 4KiB, 1MiB, 64MiB]
///     samples: 10
///     caches: [warm]
/// ```
public struct SuiteFile: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// `copyup`, `lookup`, `read`, `copy`, `metadata` or `shift`.
        public var probe: String
        public var backends: [String]?
        /// Option sets; `""` is the kernel's defaults.
        public var mountOptions: [String]?
        public var filesystems: [String]?
        /// Sizes with units; `read` runs once per size.
        public var sizes: [String]?
        /// Lower-layer counts (`lookup`; `read` runs once per depth).
        public var depths: [Int]?
        public var samples: Int?
        public var warmup: Int?
        public var caches: [String]?
        /// Copy engines (`copy`).
        public var engines: [String]?
        /// Lower layers of the copy-up stack (`copyup`).
        public var layers: Int?
        /// `lookup`: readdir widths (empty: none) and whether to time readdir at all.
        public var widths: [Int]?
        public var readdir: Bool?
        public var deepLevels: Int?
        /// `read`: random 4 KiB reads per sample.
        public var randomReads: Int?
        /// `copy`: sparse sources and fsync.
        public var sparse: Bool?
        public var fsync: Bool?
        public var seed: Int?
        /// `metadata`: the operations, the size of the files they act on, and createDeep's depths.
        public var operations: [String]?
        public var fileSize: String?
        public var pathDepths: [Int]?
        /// `shift`: the image's file count, the methods, and the shift of every uid and gid.
        public var files: Int?
        public var methods: [String]?
        public var uidShift: Int?
        /// Quiesce before each timed call (default: where the call writes); see ``SamplingPlan``.
        public var quiesce: Bool?
        /// Release each sample's files from the page cache after it; see ``SamplingPlan``.
        public var releasePages: Bool?
        /// The smallest change this entry's figures must resolve (a fraction: 0.05 is 5%), over
        /// the suite's ``SuiteFile/threshold``; `run` warns when its sample count cannot.
        public var threshold: Double?

        public init(probe: String) { self.probe = probe }
    }

    public var name: String
    public var description: String?
    /// Size of each filesystem made on a loop device or as tmpfs.
    public var fsSize: String?
    /// The smallest change the suite's figures must resolve, for entries without their own:
    /// what a nightly compare will be asked to see (``ResolutionCheck``).
    public var threshold: Double?
    public var probes: [Entry]

    public static let probeNames = ["copyup", "lookup", "read", "copy", "metadata", "shift"]

    public init(name: String, description: String? = nil, fsSize: String? = nil, probes: [Entry]) {
        self.name = name
        self.description = description
        self.fsSize = fsSize
        self.probes = probes
    }

    /// Reads and strictly decodes a suite file: an ``InputFileError`` (with the errno) if it
    /// cannot be read or is empty, a ``SuiteFileError`` naming the key and line if it does not decode.
    public static func load(_ path: String) throws -> SuiteFile {
        try parse(try InputFile.readText(path, kind: "suite file"), file: path)
    }

    /// Strictly decodes YAML text; `file` only names the source in errors.
    public static func parse(_ text: String, file: String = "suite") throws(SuiteFileError) -> SuiteFile {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw SuiteFileError(file: file, line: Self.line(of: error), key: "(yaml)", reason: "not valid YAML: \(Self.reason(of: error))")
        }
        guard let node else { throw SuiteFileError(file: file, line: 1, key: "(document)", reason: "is empty (only comments or blank lines)") }
        let reader = StrictReader(file: file)
        let top = try reader.mapping(node, key: "(document)", allowed: ["name", "description", "fsSize", "threshold", "probes"])
        guard let probesNode = top["probes"] else {
            throw SuiteFileError(file: file, line: node.mark?.line ?? 1, key: "probes", reason: "is missing")
        }
        var entries: [Entry] = []
        for item in try reader.sequence(probesNode.value, key: "probes") {
            entries.append(try reader.entry(item))
        }
        if entries.isEmpty { throw SuiteFileError(file: file, line: probesNode.line, key: "probes", reason: "is empty") }
        var suite = SuiteFile(name: ((file as NSString).lastPathComponent as NSString).deletingPathExtension, probes: entries)
        if let field = top["name"] { suite.name = try reader.string(field.value, key: "name") }
        if let field = top["description"] { suite.description = try reader.string(field.value, key: "description") }
        if let field = top["fsSize"] {
            let size = try reader.string(field.value, key: "fsSize")
            do { _ = try ByteCount.parse(size) } catch {
                throw SuiteFileError(file: file, line: field.line, key: "fsSize", reason: "is \"\(size)\": \(error)")
            }
            suite.fsSize = size
        }
        if let field = top["threshold"] { suite.threshold = try reader.threshold(field, key: "threshold") }
        return suite
    }

    /// Yams's problem text (`did not find expected key`) without its own rendering of the
    /// position and the source, which span several lines.
    private static func reason(of error: any Error) -> String {
        guard let yaml = error as? YamlError else { return "\(error)" }
        func join(_ context: YamlError.Context?, _ problem: String) -> String {
            [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
        }
        switch yaml {
        case .scanner(let context, let problem, _, _), .parser(let context, let problem, _, _),
             .composer(let context, let problem, _, _):
            return join(context, problem)
        case .reader(let problem, _, _, _): return problem
        default: return "\(yaml)".split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }

    private static func line(of error: any Error) -> Int {
        guard let yaml = error as? YamlError else { return 0 }
        switch yaml {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return 0
        }
    }
}

/// A suite file that does not decode: the file, the line, the key and what is wrong.
public struct SuiteFileError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var line: Int
    public var key: String
    public var reason: String
    public var description: String {
        // "(yaml)" and "(document)" are the whole file, not a key in it.
        switch key {
        case "(yaml)": "\(file):\(line): \(reason)"
        case "(document)": "\(file):\(line): the document \(reason)"
        default: "\(file):\(line): key \"\(key)\" \(reason)"
        }
    }
}

/// Walks a composed YAML node, checking every key and type, so that each error has a line.
struct StrictReader {
    let file: String

    struct Located {
        var value: Node
        var line: Int
    }

    func fail(_ node: Node, _ key: String, _ reason: String) -> SuiteFileError {
        SuiteFileError(file: file, line: node.mark?.line ?? 0, key: key, reason: reason)
    }

    func mapping(_ node: Node, key: String, allowed: Set<String>) throws(SuiteFileError) -> [String: Located] {
        guard case .mapping(let mapping) = node else { throw fail(node, key, "must be a mapping") }
        var result: [String: Located] = [:]
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else { throw fail(keyNode, key, "has a key that is not a string") }
            let name = scalar.string
            guard allowed.contains(name) else {
                throw fail(keyNode, name, "is not a known key here (known: \(allowed.sorted().joined(separator: ", ")))")
            }
            guard result[name] == nil else { throw fail(keyNode, name, "appears twice") }
            result[name] = Located(value: value, line: keyNode.mark?.line ?? 0)
        }
        return result
    }

    func sequence(_ node: Node, key: String) throws(SuiteFileError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw fail(node, key, "must be a list") }
        return Array(sequence)
    }

    func scalar(_ node: Node, key: String, _ what: String) throws(SuiteFileError) -> Node.Scalar {
        guard case .scalar(let scalar) = node else { throw fail(node, key, "must be \(what)") }
        return scalar
    }

    /// A string: a scalar that is not a number or boolean unless quoted (sizes like `4KiB` and
    /// option sets like `metacopy=on` are strings; a bare `0` size is accepted too).
    func string(_ node: Node, key: String) throws(SuiteFileError) -> String {
        let value = try scalar(node, key: key, "a string")
        if value.style == .plain && value.tag.description == Tag.Name.implicit.rawValue,
           value.string == "true" || value.string == "false" {
            throw fail(node, key, "must be a string, not the boolean \(value.string) (quote it)")
        }
        if value.style == .plain && (value.string == "~" || value.string == "null") {
            throw fail(node, key, "must be a string, not null (write \"\" for an empty value)")
        }
        return value.string
    }

    func integer(_ node: Node, key: String) throws(SuiteFileError) -> Int {
        let value = try scalar(node, key: key, "an integer")
        guard value.style == .plain, let int = Int(value.string) else {
            throw fail(node, key, "must be an integer (got \"\(value.string)\")")
        }
        return int
    }

    func bool(_ node: Node, key: String) throws(SuiteFileError) -> Bool {
        let value = try scalar(node, key: key, "true or false")
        switch (value.style, value.string) {
        case (.plain, "true"): return true
        case (.plain, "false"): return false
        default: throw fail(node, key, "must be true or false (got \"\(value.string)\")")
        }
    }

    func strings(_ node: Node, key: String) throws(SuiteFileError) -> [String] {
        var result: [String] = []
        for item in try sequence(node, key: key) { result.append(try string(item, key: key)) }
        return result
    }

    func integers(_ node: Node, key: String) throws(SuiteFileError) -> [Int] {
        var result: [Int] = []
        for item in try sequence(node, key: key) { result.append(try integer(item, key: key)) }
        return result
    }

    static let entryKeys: Set<String> = [
        "probe", "backends", "mountOptions", "filesystems", "sizes", "depths", "samples", "warmup", "caches",
        "engines", "layers", "widths", "readdir", "deepLevels", "randomReads", "sparse", "fsync", "seed",
        "operations", "fileSize", "pathDepths", "quiesce", "releasePages", "threshold", "files", "methods", "uidShift",
    ]

    /// A threshold: a percentage in [0%, 100%) such as `5%`, or the fraction itself (`0.05`).
    func threshold(_ located: Located, key: String) throws(SuiteFileError) -> Double {
        let text = try scalar(located.value, key: key, "a percentage such as 5%").string
        guard let value = ThresholdFile.fraction(text) else {
            throw SuiteFileError(file: file, line: located.line, key: key, reason: "is \"\(text)\": a threshold is a percentage in [0%, 100%) such as 10%")
        }
        return value
    }

    func entry(_ node: Node) throws(SuiteFileError) -> SuiteFile.Entry {
        let fields = try mapping(node, key: "probes[]", allowed: Self.entryKeys)
        guard let probeField = fields["probe"] else { throw fail(node, "probe", "is missing") }
        let probe = try string(probeField.value, key: "probe")
        guard SuiteFile.probeNames.contains(probe) else {
            throw fail(probeField.value, "probe", "is \"\(probe)\", not one of \(SuiteFile.probeNames.joined(separator: ", "))")
        }
        var entry = SuiteFile.Entry(probe: probe)
        if let f = fields["backends"] { entry.backends = try strings(f.value, key: "backends") }
        if let f = fields["mountOptions"] { entry.mountOptions = try strings(f.value, key: "mountOptions") }
        if let f = fields["filesystems"] {
            let names = try strings(f.value, key: "filesystems")
            if let bad = names.first(where: { BackingFilesystemKind(rawValue: $0) == nil }) {
                throw fail(f.value, "filesystems", "has \"\(bad)\" (known: \(BackingFilesystemKind.allNames.joined(separator: ", ")))")
            }
            entry.filesystems = names
        }
        if let f = fields["sizes"] {
            let sizes = try strings(f.value, key: "sizes")
            for size in sizes {
                do { _ = try ByteCount.parse(size) } catch { throw fail(f.value, "sizes", "has \"\(size)\": \(error)") }
            }
            entry.sizes = sizes
        }
        if let f = fields["depths"] { entry.depths = try integers(f.value, key: "depths") }
        if let f = fields["samples"] {
            entry.samples = try integer(f.value, key: "samples")
            if entry.samples! < 1 { throw fail(f.value, "samples", "must be at least 1") }
        }
        if let f = fields["warmup"] { entry.warmup = try integer(f.value, key: "warmup") }
        if let f = fields["caches"] {
            let caches = try strings(f.value, key: "caches")
            if let bad = caches.first(where: { $0 != "warm" && $0 != "cold" }) {
                throw fail(f.value, "caches", "has \"\(bad)\" (known: warm, cold)")
            }
            entry.caches = caches
        }
        if let f = fields["engines"] { entry.engines = try strings(f.value, key: "engines") }
        if let f = fields["layers"] { entry.layers = try integer(f.value, key: "layers") }
        if let f = fields["widths"] { entry.widths = try integers(f.value, key: "widths") }
        if let f = fields["readdir"] { entry.readdir = try bool(f.value, key: "readdir") }
        if let f = fields["deepLevels"] { entry.deepLevels = try integer(f.value, key: "deepLevels") }
        if let f = fields["randomReads"] { entry.randomReads = try integer(f.value, key: "randomReads") }
        if let f = fields["sparse"] { entry.sparse = try bool(f.value, key: "sparse") }
        if let f = fields["fsync"] { entry.fsync = try bool(f.value, key: "fsync") }
        if let f = fields["seed"] { entry.seed = try integer(f.value, key: "seed") }
        if let f = fields["operations"] { entry.operations = try strings(f.value, key: "operations") }
        if let f = fields["fileSize"] {
            let size = try string(f.value, key: "fileSize")
            do { _ = try ByteCount.parse(size) } catch { throw fail(f.value, "fileSize", "is \"\(size)\": \(error)") }
            entry.fileSize = size
        }
        if let f = fields["pathDepths"] { entry.pathDepths = try integers(f.value, key: "pathDepths") }
        if let f = fields["quiesce"] { entry.quiesce = try bool(f.value, key: "quiesce") }
        if let f = fields["releasePages"] { entry.releasePages = try bool(f.value, key: "releasePages") }
        if let f = fields["threshold"] { entry.threshold = try threshold(f, key: "threshold") }
        if let f = fields["files"] {
            entry.files = try integer(f.value, key: "files")
            if entry.files! < 1 { throw fail(f.value, "files", "must be at least 1") }
        }
        if let f = fields["methods"] {
            let methods = try strings(f.value, key: "methods")
            if let bad = methods.first(where: { ShiftProbe.Method(rawValue: $0) == nil }) {
                throw fail(f.value, "methods", "has \"\(bad)\" (known: \(ShiftProbe.Method.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            entry.methods = methods
        }
        if let f = fields["uidShift"] {
            entry.uidShift = try integer(f.value, key: "uidShift")
            if entry.uidShift! < 1 || entry.uidShift! > Int(UInt32.max) - 65_536 {
                throw fail(f.value, "uidShift", "must be from 1 to \(Int(UInt32.max) - 65_536)")
            }
        }
        return entry
    }
}
