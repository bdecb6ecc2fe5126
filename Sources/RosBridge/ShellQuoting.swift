/// POSIX shell words for `export NAME=VALUE` lines, written and read back by the same rules.
enum ShellWord {
    /// Characters that need no quoting anywhere in a word (no globbing, expansion, splitting or
    /// tilde expansion can touch them).
    static func isBare(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", "/", ":", "@", "%", "+", "=", ",", "-": true
        default: false
        }
    }

    /// The value as one shell word: bare when every character is safe, otherwise single-quoted,
    /// with each embedded ' written as '\'' (close, escaped quote, reopen). Inside single quotes
    /// the shell expands nothing, so this is safe for any text, newlines included.
    static func quote(_ value: String) -> String {
        if !value.isEmpty, value.unicodeScalars.allSatisfy(isBare) { return value }
        // A plain loop, not String.replacing: that one pulls the Regex runtime into the daemon.
        var out = "'"
        for c in value.unicodeScalars {
            if c == "'" { out += "'\\''" } else { out.unicodeScalars.append(c) }
        }
        return out + "'"
    }

    enum Unquoted: Equatable {
        case value(String)
        /// A '...' run is still open at the end: the word goes on on the next line.
        case unterminated
        /// Something a shell would expand, split or treat specially.
        case invalid(Unicode.Scalar)
    }

    /// The inverse of `quote` for any concatenation of bare characters, '...' runs and \',
    /// optionally followed by blanks.
    static func unquote(_ word: Substring) -> Unquoted {
        var out = ""
        var it = word.unicodeScalars.makeIterator()
        while let c = it.next() {
            switch c {
            case "'":
                var closed = false
                while let q = it.next() {
                    if q == "'" { closed = true; break }
                    out.unicodeScalars.append(q)
                }
                if !closed { return .unterminated }
            case "\\":
                guard it.next() == "'" else { return .invalid(c) }
                out += "'"
            case _ where isBare(c):
                out.unicodeScalars.append(c)
            case " ", "\t":
                // The word ends at an unquoted blank; only blanks may follow it.
                while let rest = it.next() {
                    if rest != " " && rest != "\t" { return .invalid(rest) }
                }
                return .value(out)
            default:
                return .invalid(c)
            }
        }
        return .value(out)
    }

    /// A shell variable name: a letter or _, then letters, digits or _.
    static func isName(_ s: Substring) -> Bool {
        func letter(_ c: Unicode.Scalar) -> Bool { c == "_" || ("a"..."z").contains(c) || ("A"..."Z").contains(c) }
        guard let first = s.unicodeScalars.first, letter(first) else { return false }
        return s.unicodeScalars.allSatisfy { letter($0) || ("0"..."9").contains($0) }
    }
}
