import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// A device rendered exactly as `wg showconf` prints it (wireguard-tools' showconf.c), so our
/// read-back can be diffed against the real tool byte for byte.
public enum ConfigText {
    public static func showconf(_ d: DeviceState) -> String {
        var s = "[Interface]\n"
        if d.listenPort != 0 { s += "ListenPort = \(d.listenPort)\n" }
        if d.fwmark != 0 { s += "FwMark = 0x\(String(d.fwmark, radix: 16))\n" }
        if let k = d.privateKey { s += "PrivateKey = \(k.base64Key)\n" }
        s += "\n"
        for (i, p) in d.peers.enumerated() {
            s += "[Peer]\nPublicKey = \(p.publicKey.base64Key)\n"
            if !p.presharedKey.isNone { s += "PresharedKey = \(p.presharedKey.base64Key)\n" }
            if !p.allowedIPs.isEmpty {
                s += "AllowedIPs = " + p.allowedIPs.map { "\(text($0.family, $0.bytes))/\($0.prefixLength)" }.joined(separator: ", ") + "\n"
            }
            if let e = p.endpoint {
                switch e.host {
                case .ipv4(let a): s += "Endpoint = \(a):\(e.port)\n"
                case .ipv6(let a): s += "Endpoint = [\(text(.v6, a.bytes))]:\(e.port)\n"
                case .name(let n): s += "Endpoint = \(n):\(e.port)\n"
                }
            }
            if p.persistentKeepalive != 0 { s += "PersistentKeepalive = \(p.persistentKeepalive)\n" }
            if i < d.peers.count - 1 { s += "\n" }
        }
        return s
    }

    /// inet_ntop, as wg uses, so IPv6 special forms (::ffff:1.2.3.4) print the same.
    static func text(_ family: IPAddressRange.Family, _ bytes: [UInt8]) -> String {
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { b in
            inet_ntop(family == .v4 ? AF_INET : AF_INET6, b.baseAddress, &out, socklen_t(out.count)) != nil
        }
        precondition(ok, "inet_ntop failed on \(bytes.count) bytes")
        return String(cString: out)
    }
}
