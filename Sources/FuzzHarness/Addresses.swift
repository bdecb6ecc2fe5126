import TeamwireCore
import WireGuardControl

extension FuzzHarness {
    /// The small text parsers behind every message field and UAPI line: each value that parses
    /// prints to text that parses back equal (and keys, ids and base64 print back exactly).
    /// The raw bytes also go in as binary addresses, which must print to parseable text.
    static func addresses(_ bytes: [UInt8]) {
        let s = text(bytes)
        if let a = IPv4Address(s) { require(a.description == s && IPv4Address(a.description) == a, "IPv4 \(s) prints as \(a)") }
        if let a = IPv6Address(s) { require(IPv6Address(a.description) == a, "IPv6 \(s) prints as \(a)") }
        if let p = IPv4Prefix(s) { require(p.description == s && IPv4Prefix(p.description) == p, "prefix \(s) prints as \(p)") }
        if let e = Endpoint(s) { require(Endpoint(e.description) == e, "endpoint \(s) prints as \(e)") }
        if let r = IPAddressRange(s) { require(IPAddressRange(r.description) == r, "allowed IP \(s) prints as \(r)") }
        if let k = try? PublicKey(base64Key: s) { require(k.base64Key == s && (try? PublicKey(hexKey: k.hexKey)) == k, "key \(s) prints as \(k)") }
        if let k = try? PublicKey(hexKey: s) { require(k.hexKey == s.lowercased(), "hex key \(s) prints as \(k.hexKey)") }
        if let id = TokenID(s) { require(id.description == s.lowercased() && TokenID(id.description) == id, "token id \(s) prints as \(id)") }
        if let b = Base64.decode(s) { require(Base64.encode(b) == s, "base64 \(s) is not canonical") }
        if let b = Base64.decode(s, url: true) { require(Base64.encode(b, url: true) == s, "base64url \(s) is not canonical") }
        if let b = Hex.decode(s) { require(Hex.encode(b) == s.lowercased(), "hex \(s) prints as \(Hex.encode(b))") }
        if Names.isValidLabel(s) { require(Names.isValidHostname(s), "label \(s) is no hostname") }

        if bytes.count >= 16, let a = IPv6Address(bytes: Array(bytes.prefix(16))) {
            require(IPv6Address(a.description) == a, "IPv6 bytes \(a.bytes) print as \(a), which does not parse back")
            let length = Int(bytes.count > 16 ? bytes[16] : 128)
            if let r = IPAddressRange(family: .v6, bytes: a.bytes, prefixLength: length) {
                require(IPAddressRange(r.description) == r, "allowed IP \(r) does not parse back")
            }
        }
        if bytes.count >= 4 {
            let v = bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            require(IPv4Address(IPv4Address(v).description) == IPv4Address(v), "IPv4 \(v) does not parse back")
            if let p = IPv4Prefix(address: IPv4Address(v), length: Int(bytes.count > 4 ? bytes[4] : 32)) {
                require(IPv4Prefix(p.description) == p, "prefix \(p) does not parse back")
            }
        }
    }
}
