import Foundation

/// A `DecodingError` said in OverlayBench's words: where in the file, and what is wrong.
///
/// `measurement 3: missing field "unit"`, `measurement 3: summary: field "p50" must be a number,
/// not a string`, `not valid JSON: unexpected end of file`. Swift's own rendering
/// (`DecodingError.keyNotFound … CodingKeys(stringValue: …)`) names types and keys of our code
/// rather than the file, so it never reaches a user.
public enum DecodingErrorMessage {
    /// Lists whose items are named by a singular noun and their 1-based position.
    static let itemNames = [
        "measurements": "measurement", "samples": "sample", "warnings": "warning", "mounts": "mount",
        "backingFilesystems": "backing filesystem", "probes": "probe",
    ]

    /// `data`, when given, is the JSON that failed: a syntax error is then located in it.
    public static func describe(_ error: DecodingError, in data: Data? = nil) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            return located(context.codingPath, "missing field \"\(key.stringValue)\"")
        case .typeMismatch(let type, let context):
            let found = foundValue(in: context.debugDescription).map { ", not \($0)" } ?? ""
            return field(context.codingPath, "must be \(expected(type))\(found)")
        case .valueNotFound(let type, let context):
            return field(context.codingPath, "is null; it must be \(expected(type))")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "not valid JSON" + (data.flatMap(syntaxProblem).map { ": \($0)" } ?? "") }
            return field(context.codingPath, "has an invalid value")
        @unknown default:
            return "does not decode"
        }
    }

    /// `measurement 3: summary: field "p50"` for the path `measurements[2].summary.p50`: list
    /// items by a noun and their 1-based position, the objects on the way by their key, and the
    /// last key as the field.
    public static func render(_ path: [any CodingKey], lastIsField: Bool = true) -> [String] {
        var parts: [String] = []
        var index = 0
        while index < path.count {
            let key = path[index]
            if key.intValue == nil, index + 1 < path.count, let position = path[index + 1].intValue {
                let noun = itemNames[key.stringValue] ?? "\(key.stringValue) item"
                parts.append("\(noun) \(position + 1)")
                index += 2
            } else if let position = key.intValue {
                parts.append("item \(position + 1)")
                index += 1
            } else {
                parts.append(lastIsField && index == path.count - 1 ? "field \"\(key.stringValue)\"" : key.stringValue)
                index += 1
            }
        }
        return parts
    }

    /// `prefix: reason`, the prefix being where it happened (nothing at the top level).
    static func located(_ path: [any CodingKey], _ reason: String) -> String {
        (render(path, lastIsField: false) + [reason]).joined(separator: ": ")
    }

    /// The last component of the path is the field itself: `summary: field "p50" must be …`.
    static func field(_ path: [any CodingKey], _ reason: String) -> String {
        var parts = render(path)
        if parts.isEmpty { return "the document \(reason)" }
        parts[parts.count - 1] += " " + reason
        return parts.joined(separator: ": ")
    }

    static func expected(_ type: Any.Type) -> String {
        switch type {
        case is any BinaryInteger.Type: return "an integer"
        case is any BinaryFloatingPoint.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array<") || name.hasPrefix("[") { return "a list" }
            return "an object"
        }
    }

    /// What Foundation says it found (`a string`, `a number`, `null`, `an array`), if it says.
    static func foundValue(in description: String) -> String? {
        guard let start = description.range(of: "but found "), let end = description.range(of: " instead", range: start.upperBound..<description.endIndex)
        else { return nil }
        let found = String(description[start.upperBound..<end.lowerBound])
        // JSONDecoder's words for JSON's types, with and without an article.
        switch found {
        case "a dictionary", "dictionary": return "an object"
        case "an array", "array": return "a list"
        case "number", "a number": return "a number"
        case "bool", "a bool", "boolean": return "true or false"
        case "string", "a string": return "a string"
        default: return found
        }
    }

    /// Where and why `data` is not JSON: `unexpected end of file (truncated?)` or `invalid
    /// value at line 3, column 7`. JSONDecoder does not say; JSONSerialization's parser does,
    /// as a byte offset that is turned into a line and column here.
    static func syntaxProblem(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return nil
        } catch {
            guard let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String else { return nil }
            if text.hasPrefix("Unexpected end of file") { return "unexpected end of file after \(data.count) bytes (truncated?)" }
            guard let range = text.range(of: " around character "),
                  let offset = Int(text[range.upperBound...].prefix(while: \.isNumber)) else { return nil }
            let what = text[..<range.lowerBound].lowercased()
            let before = data.prefix(offset)
            let line = before.filter { $0 == 0x0A }.count + 1
            let column = before.count - (before.lastIndex(of: 0x0A).map { $0 - before.startIndex + 1 } ?? 0) + 1
            return "\(what) at line \(line), column \(column)"
        }
    }
}
