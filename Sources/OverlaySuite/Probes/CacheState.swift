import OverlaySystem

/// The page-cache state a sample starts from.
public enum CacheState: String, Codable, Sendable, CaseIterable {
    /// The file was read just before: its pages and dentries are cached.
    case warm
    /// `sync` and `drop_caches` (twice, since overlay dentries pin lower ones) before each sample;
    /// ``ColdCache`` says what that keeps (`parameters.coldMethod`).
    case cold

    public static func parseList(_ text: String) throws(ProbeError) -> [CacheState] {
        var result: [CacheState] = []
        for item in text.split(separator: ",") {
            guard let state = CacheState(rawValue: String(item)) else {
                throw .invalidArgument("cache", "\"\(item)\" is not warm or cold")
            }
            if !result.contains(state) { result.append(state) }
        }
        guard !result.isEmpty else { throw .invalidArgument("cache", "is empty") }
        return result
    }
}

public enum ProbeError: Error, CustomStringConvertible, Sendable {
    case invalidArgument(String, String)
    case verificationFailed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case .invalidArgument(let field, let why): "invalid \(field): \(why)"
        case .verificationFailed(let why): "verification failed: \(why)"
        case .unsupported(let why): "unsupported here: \(why)"
        }
    }
}
