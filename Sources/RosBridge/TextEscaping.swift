/// Escaping for the formats the renderers write. Names are DNS labels today, but the renderers
/// do not rely on it: whatever a field holds, the output stays well-formed and cannot inject.
enum Escape {
    /// XML text or attribute value (double-quoted attributes).
    static func xml(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            // Control characters other than tab, newline and carriage return are not allowed in XML 1.0 at all.
            case "\t", "\n", "\r": out += "&#\(c.value);"
            case _ where c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF: out += "?"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Text inside `<!-- ... -->`: "--" is not allowed in a comment (and "a--b" is a valid DNS
    /// label), so a space goes between two dashes; control characters become "?".
    static func xmlComment(_ s: String) -> String {
        var out = ""
        for c in oneLine(s).unicodeScalars {
            if c == "-", out.unicodeScalars.last == "-" { out += " " }
            out.unicodeScalars.append(c)
        }
        return out
    }

    /// Text for a one-line `#` comment in the env or hosts file: a newline there would end the
    /// comment and let the rest run as shell code.
    static func oneLine(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }
}
