import TeamwireCore

/// The interfaces and addresses a DDS profile file restricts its transport to, found by a plain
/// scan (a misspelt file still shows what it names): CycloneDDS `NetworkInterface name=/address=`
/// and `NetworkInterfaceAddress`, Fast DDS `interfaceWhiteList` addresses and interface names
/// (2.x) and `allowlist` / `interface name=` (3.x).
public enum ProfileInterfaces {
    public static func named(in xml: String) -> [String] {
        var out: [String] = []
        for tag in elements(xml) {
            let lower = tag.name.lowercased()
            if lower == "networkinterface" || lower == "interface" {
                for key in ["name", "address"] { if let v = tag.attributes[key], !v.isEmpty { out.append(v) } }
            }
        }
        out += texts(xml, of: "NetworkInterfaceAddress")
        // Fast DDS 2.x: <interfaceWhiteList><address>…</address><interface>…</interface></interfaceWhiteList>.
        for block in texts(xml, of: "interfaceWhiteList") {
            out += texts(block, of: "address") + texts(block, of: "interface")
        }
        var seen = Set<String>()
        return out.map { $0.trimmingBlanks }.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// Names that are neither the overlay's interface or address nor loopback (which DDS keeps
    /// for the host's own processes).
    public static func foreign(_ names: [String], interface: String, address: IPv4Address) -> [String] {
        names.filter { n in
            n != interface && n != address.description && n != "lo" && !n.hasPrefix("127.") && n.lowercased() != "localhost"
        }
    }

    struct Tag {
        var name: String
        var attributes: [String: String]
    }

    /// Opening tags with their attributes (no namespaces prefix kept).
    static func elements(_ xml: String) -> [Tag] {
        var out: [Tag] = []
        var rest = xml[...]
        while let lt = rest.firstIndex(of: "<") {
            rest = rest[rest.index(after: lt)...]
            guard let gt = rest.firstIndex(of: ">") else { break }
            let inside = rest[..<gt]
            rest = rest[rest.index(after: gt)...]
            guard let first = inside.first, first != "/", first != "?", first != "!" else { continue }
            let nameEnd = inside.firstIndex { $0 == " " || $0 == "/" || $0 == "\t" || $0 == "\n" } ?? inside.endIndex
            let name = String(inside[..<nameEnd].split(separator: ":").last ?? "")
            var attributes: [String: String] = [:]
            var a = inside[nameEnd...]
            while let eq = a.firstIndex(of: "=") {
                let key = String(a[..<eq].split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last ?? "")
                a = a[a.index(after: eq)...].drop { $0 == " " }
                guard let quote = a.first, quote == "\"" || quote == "'" else { break }
                a = a.dropFirst()
                guard let close = a.firstIndex(of: quote) else { break }
                attributes[key] = String(a[..<close])
                a = a[a.index(after: close)...]
            }
            out.append(Tag(name: name, attributes: attributes))
        }
        return out
    }

    /// The text between `<name ...>` and `</name>`, for every such element.
    static func texts(_ xml: String, of name: String) -> [String] {
        var out: [String] = []
        var rest = xml[...]
        while let open = rest.firstRange(of: "<" + name) {
            let after = rest[open.upperBound...]
            guard let c = after.first, c == ">" || c == " " || c == "\t" || c == "\n", let gt = after.firstIndex(of: ">") else {
                rest = after
                continue
            }
            let body = after[after.index(after: gt)...]
            guard let close = body.firstRange(of: "</" + name) else { break }
            out.append(String(body[..<close.lowerBound]))
            rest = body[close.upperBound...]
        }
        return out
    }
}

extension StringProtocol {
    var trimmingBlanks: String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }
        return String(String(self.drop(while: blank).reversed().drop(while: blank).reversed()))
    }
}
