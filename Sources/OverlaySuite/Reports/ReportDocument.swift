import Foundation

/// A report as a list of blocks, rendered once as Markdown and once as a self-contained HTML page,
/// so the two never drift apart.
public struct ReportDocument: Sendable {
    public enum Block: Sendable {
        case heading(level: Int, String)
        case paragraph(String)
        case bullets([String])
        /// Header cells, then rows; `numeric` columns are right-aligned.
        case table(header: [String], rows: [[String]], numeric: Set<Int>)
        case code(String)
        /// A plot: the Markdown links `markdownPath`, the HTML embeds `svg` inline.
        /// A plot: `alt` is what a reader without the picture gets (its title), `caption` the
        /// conditions it was measured in.
        case figure(alt: String, caption: String, markdownPath: String, svg: String?)
        /// Something a reader should know, such as a plot that could not be drawn.
        case note(String)
    }

    public var title: String
    public var blocks: [Block] = []

    public init(title: String) { self.title = title }

    public mutating func append(_ block: Block) { blocks.append(block) }

    // MARK: - Markdown

    public func markdown() -> String {
        var out = "# \(title)\n\n"
        for block in blocks {
            switch block {
            case .heading(let level, let text):
                out += String(repeating: "#", count: min(max(level, 2), 6)) + " \(text)\n\n"
            case .paragraph(let text):
                out += text + "\n\n"
            case .bullets(let items):
                out += items.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
            case .table(let header, let rows, let numeric):
                func row(_ cells: [String]) -> String {
                    "| " + cells.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |"
                }
                out += row(header) + "\n"
                out += "|" + header.indices.map { numeric.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|\n"
                out += rows.map(row).joined(separator: "\n") + "\n\n"
            case .code(let text):
                out += "```\n\(text)\n```\n\n"
            case .figure(let alt, let caption, let path, _):
                out += "![\(alt)](\(path))\n\n*\(caption)*\n\n"
            case .note(let text):
                out += "> **Note:** \(text)\n\n"
            }
        }
        return out
    }

    // MARK: - HTML

    public func html() -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem;color:#222}
            table{border-collapse:collapse;margin:0 0 1.5rem;font-size:.9rem}
            th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
            td.n{text-align:right;font-variant-numeric:tabular-nums}
            th{background:#f3f3f3}
            pre{background:#f6f6f6;padding:.75rem;overflow-x:auto}
            figure{margin:1rem 0 2rem}figure svg{max-width:100%;height:auto}
            figcaption{font-style:italic;font-size:.9rem}
            .note{border-left:4px solid #c90;padding:.25rem .75rem;background:#fff8e5}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>

            """
        var figureNumber = 0
        for block in blocks {
            switch block {
            case .heading(let level, let text):
                let h = min(max(level, 2), 6)
                out += "<h\(h)>\(Self.escape(text))</h\(h)>\n"
            case .paragraph(let text):
                out += "<p>\(Self.inline(text))</p>\n"
            case .bullets(let items):
                out += "<ul>\n" + items.map { "<li>\(Self.inline($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            case .table(let header, let rows, let numeric):
                out += "<table>\n<tr>" + header.map { "<th>\(Self.escape($0))</th>" }.joined() + "</tr>\n"
                for row in rows {
                    out += "<tr>" + row.enumerated().map { index, cell in
                        numeric.contains(index) ? "<td class=\"n\">\(Self.inline(cell))</td>" : "<td>\(Self.inline(cell))</td>"
                    }.joined() + "</tr>\n"
                }
                out += "</table>\n"
            case .code(let text):
                out += "<pre>\(Self.escape(text))</pre>\n"
            case .figure(_, let caption, let path, let svg):
                figureNumber += 1
                let body = svg.map { Self.inlineSVG($0, prefix: "f\(figureNumber)_") }
                    ?? "<p class=\"note\">The SVG for \(Self.escape(path)) is missing.</p>"
                out += "<figure>\n\(body)\n<figcaption>\(Self.escape(caption))</figcaption>\n</figure>\n"
            case .note(let text):
                out += "<p class=\"note\"><strong>Note:</strong> \(Self.inline(text))</p>\n"
            }
        }
        return out + "</body></html>\n"
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// Escapes, then renders the two Markdown marks the report uses: `code` and **bold**.
    static func inline(_ text: String) -> String {
        var result = ""
        var inCode = false
        var inBold = false
        var characters = Array(escape(text))[...]
        while let character = characters.first {
            characters = characters.dropFirst()
            if character == "`" {
                result += inCode ? "</code>" : "<code>"
                inCode.toggle()
            } else if character == "*", characters.first == "*", !inCode {
                characters = characters.dropFirst()
                result += inBold ? "</strong>" : "<strong>"
                inBold.toggle()
            } else {
                result.append(character)
            }
        }
        if inCode { result += "</code>" }
        if inBold { result += "</strong>" }
        return result
    }

    /// gnuplot's SVG starts with an XML prolog and a DOCTYPE, which are invalid inside HTML,
    /// and names its clip paths and groups `gnuplot_canvas`, `gpClip…`: several plots on one
    /// page would share those ids, so each plot's ids get `prefix`.
    static func inlineSVG(_ svg: String, prefix: String) -> String {
        guard let start = svg.range(of: "<svg") else { return "" }
        var body = String(svg[start.lowerBound...])
        body = body.replacingOccurrences(of: "id=\"", with: "id=\"\(prefix)")
            .replacingOccurrences(of: "url(#", with: "url(#\(prefix)")
            .replacingOccurrences(of: "href=\"#", with: "href=\"#\(prefix)")
        return body
    }
}
