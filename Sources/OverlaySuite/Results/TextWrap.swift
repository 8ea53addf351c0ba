/// Text broken at spaces into lines a terminal or a plot caption can hold.
public enum TextWrap {
    /// `text` in lines of at most `width` characters (a longer word stands alone); every line
    /// after the first starts with `indent`, which counts toward the width.
    public static func lines(_ text: String, width: Int, indent: String = "") -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty && current.count + 1 + word.count > width {
                lines.append(current)
                current = indent + word
            } else {
                current += current.isEmpty ? String(word) : " " + word
            }
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
