import TeamwireCore
import WireGuardControl

extension FuzzHarness {
    /// wireguard-go's replies on its UAPI socket. A `get` reply that parses, written back the way
    /// wireguard-go writes it, parses to the same device, and `wg showconf`'s rendering of it
    /// does not trap.
    static func uapi(_ bytes: [UInt8]) {
        try? UAPI.parseSet(text(bytes))
        guard let device = try? UAPI.parseGet(bytes, interface: "wg0") else { return }
        _ = ConfigText.showconf(device)
        let written = getReply(device)
        do {
            let again = try UAPI.parseGet(written, interface: "wg0")
            require(same(again, device), "a parsed device written back parses differently:\n\(written)")
        } catch {
            require(false, "a parsed device written back is refused: \(error)\n\(written)")
        }
    }

    /// A `get=1` reply as wireguard-go writes it.
    static func getReply(_ d: DeviceState) -> String {
        var s = ""
        if let k = d.privateKey { s += "private_key=\(k.hexKey)\n" }
        s += "listen_port=\(d.listenPort)\nfwmark=\(d.fwmark)\n"
        for p in d.peers {
            s += "public_key=\(p.publicKey.hexKey)\npreshared_key=\(Hex.encode(p.presharedKey.rawValue))\nprotocol_version=\(p.protocolVersion)\n"
            if let e = p.endpoint { s += "endpoint=\(e)\n" }
            let h = p.lastHandshake ?? .init(seconds: 0, nanoseconds: 0)
            s += "last_handshake_time_sec=\(h.seconds)\nlast_handshake_time_nsec=\(h.nanoseconds)\n"
            s += "tx_bytes=\(p.txBytes)\nrx_bytes=\(p.rxBytes)\npersistent_keepalive_interval=\(p.persistentKeepalive)\n"
            for a in p.allowedIPs { s += "allowed_ip=\(a)\n" }
        }
        return s + "errno=0\n\n"
    }

    /// DeviceState is not Equatable: its private key compares only in constant time.
    static func same(_ a: DeviceState, _ b: DeviceState) -> Bool {
        a.name == b.name && a.privateKey?.rawValue == b.privateKey?.rawValue && a.listenPort == b.listenPort && a.fwmark == b.fwmark && a.peers == b.peers
    }
}
