import TeamwireCore

/// The cross-platform userspace API spoken by wireguard-go on /var/run/wireguard/NAME.sock:
/// `get=1` or `set=1`, then key=value lines, a blank line; the reply ends in `errno=N` and a
/// blank line. Pure text in, text out: the socket lives in UserspaceBackend.
public enum UAPI {
    public static let getRequest = "get=1\n\n"

    /// The `set=1` request for an update. Keys are hex, as the protocol requires.
    public static func setRequest(_ u: DeviceUpdate) throws -> String {
        var s = "set=1\n"
        s.reserveCapacity(64 + u.peers.count * 180)
        if let k = u.privateKey { s += "private_key=\(k.hexKey)\n" }
        if let p = u.listenPort { s += "listen_port=\(p)\n" }
        if let m = u.fwmark { s += "fwmark=\(m)\n" }
        if u.replacePeers { s += "replace_peers=true\n" }
        for p in u.peers {
            s += "public_key=\(p.publicKey.hexKey)\n"
            if p.remove {
                s += "remove=true\n"
                continue
            }
            if p.updateOnly { s += "update_only=true\n" }
            if let k = p.presharedKey { s += "preshared_key=\(Hex.encode(k.rawValue))\n" }
            if let e = p.endpoint {
                if case .name = e.host {
                    throw WireGuardError.invalidConfiguration("endpoint \(e) is a hostname; WireGuard needs an IP address (resolve it first)")
                }
                s += "endpoint=\(e)\n"
            }
            if let k = p.persistentKeepalive { s += "persistent_keepalive_interval=\(k)\n" }
            if p.replaceAllowedIPs { s += "replace_allowed_ips=true\n" }
            for a in p.allowedIPs { s += "allowed_ip=\(a)\n" }
        }
        return s + "\n"
    }

    /// Parses a `get=1` reply into the device state. Throws `.refused` for a non-zero errno and
    /// `.malformedReply` for anything it does not understand.
    public static func parseGet(_ reply: String, interface: String) throws -> DeviceState {
        var dev = DeviceState(name: interface)
        var peer: PeerState?
        var errno: Int32?
        func finishPeer() { if let p = peer { dev.peers.append(p); peer = nil } }
        for raw in reply.split(separator: "\n", omittingEmptySubsequences: true) {
            guard let eq = raw.firstIndex(of: "=") else { throw WireGuardError.malformedReply("line without '=': \(raw.prefix(80))") }
            let key = raw[..<eq], value = String(raw[raw.index(after: eq)...])
            func bad() -> WireGuardError { .malformedReply("bad value for \(key): \(value.prefix(80))") }
            switch key {
            case "errno":
                guard let e = Int32(value) else { throw bad() }
                errno = e
            case "private_key":
                guard let k = try? PrivateKey(hexKey: value) else { throw bad() }
                dev.privateKey = k.rawValue.allSatisfy { $0 == 0 } ? nil : k
            case "listen_port":
                guard let p = UInt16(value) else { throw bad() }
                dev.listenPort = p
            case "fwmark":
                guard let m = UInt32(value) else { throw bad() }
                dev.fwmark = m
            case "public_key":
                finishPeer()
                guard let k = try? PublicKey(hexKey: value) else { throw bad() }
                peer = PeerState(publicKey: k)
            default:
                guard peer != nil else { throw WireGuardError.malformedReply("peer field \(key) before any public_key") }
                switch key {
                case "preshared_key":
                    guard let b = Hex.decode(value), let k = PresharedKey(rawValue: b) else { throw bad() }
                    peer!.presharedKey = k
                case "endpoint":
                    guard let e = Endpoint(value) else { throw bad() }
                    peer!.endpoint = e
                case "allowed_ip":
                    guard let a = IPAddressRange(value) else { throw bad() }
                    peer!.allowedIPs.append(a)
                case "persistent_keepalive_interval":
                    guard let k = UInt16(value) else { throw bad() }
                    peer!.persistentKeepalive = k
                case "last_handshake_time_sec":
                    guard let v = Int64(value) else { throw bad() }
                    peer!.lastHandshake = .init(seconds: v, nanoseconds: peer!.lastHandshake?.nanoseconds ?? 0)
                case "last_handshake_time_nsec":
                    guard let v = Int64(value) else { throw bad() }
                    peer!.lastHandshake = .init(seconds: peer!.lastHandshake?.seconds ?? 0, nanoseconds: v)
                case "rx_bytes":
                    guard let v = UInt64(value) else { throw bad() }
                    peer!.rxBytes = v
                case "tx_bytes":
                    guard let v = UInt64(value) else { throw bad() }
                    peer!.txBytes = v
                case "protocol_version":
                    guard let v = UInt32(value) else { throw bad() }
                    peer!.protocolVersion = v
                default:
                    // Newer wireguard-go versions may add fields: ignore them rather than fail.
                    break
                }
            }
        }
        finishPeer()
        guard let e = errno else { throw WireGuardError.malformedReply("reply has no errno line (truncated?)") }
        guard e == 0 else { throw WireGuardError.refused(operation: "get", errno: e) }
        // 0.0 means "never": both backends report it that way.
        for i in dev.peers.indices where dev.peers[i].lastHandshake == .init(seconds: 0, nanoseconds: 0) {
            dev.peers[i].lastHandshake = nil
        }
        return dev
    }

    /// Parses a `set=1` reply: `errno=0` or the error.
    public static func parseSet(_ reply: String) throws {
        let lines = reply.split(separator: "\n", omittingEmptySubsequences: true)
        guard let last = lines.last, last.hasPrefix("errno="), let e = Int32(last.dropFirst(6)) else {
            throw WireGuardError.malformedReply("set reply without errno: \(reply.prefix(80))")
        }
        guard e == 0 else { throw WireGuardError.refused(operation: "set", errno: e) }
    }
}
