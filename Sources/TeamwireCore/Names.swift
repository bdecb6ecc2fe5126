/// Name rules. Team and node names become DNS labels (NAME.local, NAME.TEAM.local, hosts files),
/// so they follow RFC 1123 label rules, lowercase only to keep names unambiguous.
public enum Names {
    public static let maxLabelLength = 63

    /// Why a name is not a valid label, or nil when it is.
    public static func labelProblem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > maxLabelLength { return "is longer than \(maxLabelLength) characters" }
        for c in name.unicodeScalars {
            switch c {
            case "a"..."z", "0"..."9", "-": continue
            case "A"..."Z": return "has uppercase letters (names are lowercase)"
            default: return "has the character \"\(c.escaped(asASCII: true))\" (allowed: a-z, 0-9 and '-')"
            }
        }
        if name.hasPrefix("-") || name.hasSuffix("-") { return "starts or ends with '-'" }
        return nil
    }

    public static func isValidLabel(_ name: String) -> Bool { labelProblem(name) == nil }

    /// A DNS hostname (labels of letters, digits and '-'; case-insensitive), for endpoints.
    public static func isValidHostname(_ host: String) -> Bool {
        guard !host.isEmpty, host.utf8.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { l in
            !l.isEmpty && l.utf8.count <= 63 && !l.hasPrefix("-") && !l.hasSuffix("-")
                && l.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        }
    }
}
