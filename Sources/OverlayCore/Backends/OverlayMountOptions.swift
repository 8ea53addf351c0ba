/// Overlay mount options beyond the layer directories, validated by name and value.
///
/// Names and values are the kernel's (`Documentation/filesystems/overlayfs.rst`, `params.c`);
/// they appear verbatim in mount data and in results.
public struct OverlayMountOptions: Sendable, Hashable, CustomStringConvertible {
    public struct Option: Sendable, Hashable {
        public var name: String
        public var value: String?
        public var text: String { value.map { "\(name)=\($0)" } ?? name }
    }

    public private(set) var options: [Option]

    /// The kernel's defaults: no options.
    public static let defaults = OverlayMountOptions(options: [])

    /// Allowed values per option; nil means a bare flag.
    static let known: [String: Set<String>?] = [
        "metacopy": ["on", "off"],
        "index": ["on", "off"],
        "redirect_dir": ["on", "off", "follow", "nofollow"],
        "xino": ["on", "off", "auto"],
        "nfs_export": ["on", "off"],
        "uuid": ["on", "off", "null", "auto"],
        "verity": ["on", "off", "require"],
        "volatile": nil,
        "userxattr": nil,
    ]

    init(options: [Option]) { self.options = options }

    /// Parses `volatile,metacopy=on`. Layer directories are not options here: they come from the stack.
    public init(parsing text: String) throws(OverlayOptionError) {
        var options: [Option] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            let name = String(parts[0])
            let value = parts.count > 1 ? String(parts[1]) : nil
            if ["lowerdir", "upperdir", "workdir", "lowerdir+", "datadir+", "default_permissions"].contains(name) {
                throw .invalid(name, "is set by OverlayBench from the layer stack, not by --mount-options")
            }
            guard let allowed = Self.known[name] else {
                throw .invalid(name, "is not an overlay mount option (known: \(Self.known.keys.sorted().joined(separator: ", ")))")
            }
            switch (allowed, value) {
            case (nil, nil): break
            case (nil, .some): throw .invalid(name, "takes no value")
            case (.some(let values), nil): throw .invalid(name, "needs a value: one of \(values.sorted().joined(separator: ", "))")
            case (.some(let values), .some(let v)) where !values.contains(v):
                throw .invalid(name, "\"\(v)\" is not one of \(values.sorted().joined(separator: ", "))")
            default: break
            }
            options.removeAll { $0.name == name }
            options.append(Option(name: name, value: value))
        }
        self.options = options
    }

    public var isVolatile: Bool { options.contains { $0.name == "volatile" } }
    public var metacopy: Bool { options.contains { $0.name == "metacopy" && $0.value == "on" } }
    public var redirectDir: Bool { options.contains { $0.name == "redirect_dir" && $0.value == "on" } }
    public var userXattr: Bool { options.contains { $0.name == "userxattr" } }

    /// `volatile,metacopy=on`; empty for the defaults.
    public var description: String { options.map(\.text).joined(separator: ",") }
}

public enum OverlayOptionError: Error, CustomStringConvertible, Sendable {
    case invalid(String, String)
    public var description: String {
        switch self { case .invalid(let name, let why): "invalid mount option \(name): \(why)" }
    }
}
