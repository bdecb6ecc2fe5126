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
        try parseGet(Array(reply.utf8), interface: interface)
    }

    /// Works on bytes: a 10,000-peer reply is 100,000 lines, and keys are decoded straight from
    /// hex without building intermediate strings.
    public static func parseGet(_ reply: [UInt8], interface: String) throws -> DeviceState {
        var dev = DeviceState(name: interface)
        var peer: PeerState?
        var errno: Int32?
        var start = 0
        let n = reply.count
        while start < n {
            var end = start
            while end < n, reply[end] != 10 { end += 1 }
            defer { start = end + 1 }
            if end == start { continue }
            let line = reply[start..<end]
            guard let eq = line.firstIndex(of: 61) else {  // '='
                throw WireGuardError.malformedReply("line without '=': \(String(decoding: line.prefix(80), as: UTF8.self))")
            }
            let key = String(decoding: line[..<eq], as: UTF8.self)
            let value = line[(eq + 1)...]
            func bad() -> WireGuardError { .malformedReply("bad value for \(key): \(String(decoding: value.prefix(80), as: UTF8.self))") }
            func key32() throws -> [UInt8] {
                guard let b = hex32(value) else { throw bad() }
                return b
            }
            func number<T: FixedWidthInteger>(_: T.Type) throws -> T {
                guard !value.isEmpty, value.count <= 20 else { throw bad() }
                var v: T = 0
                var negative = false
                for (i, c) in value.enumerated() {
                    if i == 0, c == 45, T.isSigned, value.count > 1 { negative = true; continue }  // '-'
                    guard c >= 48, c <= 57 else { throw bad() }
                    let (m, o1) = v.multipliedReportingOverflow(by: 10)
                    let (a, o2) = m.addingReportingOverflow(T(c - 48))
                    guard !o1, !o2 else { throw bad() }
                    v = a
                }
                return negative ? 0 - v : v
            }
            switch key {
            case "errno": errno = try number(Int32.self)
            case "private_key":
                let b = try key32()
                dev.privateKey = b.allSatisfy { $0 == 0 } ? nil : try PrivateKey(rawValue: b)
            case "listen_port": dev.listenPort = try number(UInt16.self)
            case "fwmark": dev.fwmark = try number(UInt32.self)
            case "public_key":
                if let p = peer { dev.peers.append(p) }
                peer = PeerState(publicKey: try PublicKey(rawValue: try key32()))
            default:
                guard peer != nil else { throw WireGuardError.malformedReply("peer field \(key) before any public_key") }
                switch key {
                case "preshared_key": peer!.presharedKey = PresharedKey(rawValue: try key32())!
                case "endpoint":
                    guard let e = Endpoint(String(decoding: value, as: UTF8.self)) else { throw bad() }
                    peer!.endpoint = e
                case "allowed_ip":
                    guard let a = IPAddressRange(String(decoding: value, as: UTF8.self)) else { throw bad() }
                    peer!.allowedIPs.append(a)
                case "persistent_keepalive_interval": peer!.persistentKeepalive = try number(UInt16.self)
                case "last_handshake_time_sec":
                    peer!.lastHandshake = .init(seconds: try number(Int64.self), nanoseconds: peer!.lastHandshake?.nanoseconds ?? 0)
                case "last_handshake_time_nsec":
                    peer!.lastHandshake = .init(seconds: peer!.lastHandshake?.seconds ?? 0, nanoseconds: try number(Int64.self))
                case "rx_bytes": peer!.rxBytes = try number(UInt64.self)
                case "tx_bytes": peer!.txBytes = try number(UInt64.self)
                case "protocol_version": peer!.protocolVersion = try number(UInt32.self)
                default:
                    // Newer wireguard-go versions may add fields: ignore them rather than fail.
                    break
                }
            }
        }
        if let p = peer { dev.peers.append(p) }
        guard let e = errno else { throw WireGuardError.malformedReply("reply has no errno line (truncated?)") }
        guard e == 0 else { throw WireGuardError.refused(operation: "get", errno: positiveErrno(e)) }
        for i in dev.peers.indices {
            guard let t = dev.peers[i].lastHandshake else { continue }
            // 0.0 means "never": both backends report it that way.
            if t == .init(seconds: 0, nanoseconds: 0) { dev.peers[i].lastHandshake = nil; continue }
            // A time the agent turns into milliseconds and nanoseconds: one that cannot be a
            // handshake (negative, past 2262, a nanosecond field over a second) is refused here.
            guard t.isPlausible else { throw WireGuardError.malformedReply(PeerState.Timestamp.problem(t, peer: dev.peers[i].publicKey)) }
        }
        return dev
    }

    /// 64 hex digits to 32 bytes; nil for anything else.
    static func hex32(_ s: ArraySlice<UInt8>) -> [UInt8]? {
        s.count == 64 ? Hex.decode(s) : nil
    }

    /// Parses a `set=1` reply: `errno=0` or the error.
    public static func parseSet(_ reply: String) throws {
        let lines = reply.split(separator: "\n", omittingEmptySubsequences: true)
        guard let last = lines.last, last.hasPrefix("errno="), let e = Int32(last.dropFirst(6)) else {
            throw WireGuardError.malformedReply("set reply without errno: \(reply.prefix(80))")
        }
        guard e == 0 else { throw WireGuardError.refused(operation: "set", errno: positiveErrno(e)) }
    }

    /// wireguard-go answers `errno=-98` where the kernel's tools say 98: errors carry the positive
    /// errno either way, so `strerror` names it ("Address in use", not "Unknown error -98").
    static func positiveErrno(_ e: Int32) -> Int32 { e < 0 && e != .min ? -e : e }
}
