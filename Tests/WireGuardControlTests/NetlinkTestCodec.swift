import Glibc
import TeamwireCore
import WireGuardControl
import TestSupport

/// A netlink codec for tests only, written apart from the library's (which builds with libmnl)
/// so each checks the other. The attribute numbers are spelled out here from the kernel's
/// include/uapi/linux/wireguard.h, which also checks the vendored header's values.
enum WG {
    static let cmdGet: UInt8 = 0, cmdSet: UInt8 = 1
    enum D { static let ifindex: UInt16 = 1, ifname: UInt16 = 2, privateKey: UInt16 = 3, publicKey: UInt16 = 4, flags: UInt16 = 5,
             listenPort: UInt16 = 6, fwmark: UInt16 = 7, peers: UInt16 = 8 }
    enum P { static let publicKey: UInt16 = 1, psk: UInt16 = 2, flags: UInt16 = 3, endpoint: UInt16 = 4, keepalive: UInt16 = 5,
             handshake: UInt16 = 6, rx: UInt16 = 7, tx: UInt16 = 8, allowedIPs: UInt16 = 9, protocolVersion: UInt16 = 10 }
    enum A { static let family: UInt16 = 1, address: UInt16 = 2, cidr: UInt16 = 3 }
    static let replacePeers: UInt32 = 1
    static let removeMe: UInt32 = 1, replaceAllowedIPs: UInt32 = 2, updateOnly: UInt32 = 4
    static let nestedFlag: UInt16 = 0x8000
    static let family: UInt16 = 0x1c  // any genl family id; the kernel assigns one at module load
}

struct CodecError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }
func readLE<T: FixedWidthInteger>(_ b: ArraySlice<UInt8>, as: T.Type = T.self) -> T {
    b.reversed().reduce(T(0)) { $0 << 8 | T($1) }
}

/// An attribute tree, encoded the way the kernel's nla_put/nla_nest_start do.
indirect enum TLV {
    case raw(UInt16, [UInt8])
    case nest(UInt16, [TLV])

    static func u8(_ t: UInt16, _ v: UInt8) -> TLV { .raw(t, [v]) }
    static func u16(_ t: UInt16, _ v: UInt16) -> TLV { .raw(t, le(v)) }
    static func u32(_ t: UInt16, _ v: UInt32) -> TLV { .raw(t, le(v)) }
    static func u64(_ t: UInt16, _ v: UInt64) -> TLV { .raw(t, le(v)) }
    static func strz(_ t: UInt16, _ s: String) -> TLV { .raw(t, Array(s.utf8) + [0]) }

    /// `nestedFlag`: NLA_F_NESTED on nests (kernels since 5.2 set it; older ones did not).
    func encode(nestedFlag: Bool = true) -> [UInt8] {
        let (type, payload): (UInt16, [UInt8])
        switch self {
        case .raw(let t, let b): (type, payload) = (t, b)
        case .nest(let t, let children): (type, payload) = (t | (nestedFlag ? WG.nestedFlag : 0), children.flatMap { $0.encode(nestedFlag: nestedFlag) })
        }
        let padding = (4 - payload.count % 4) % 4
        var out: [UInt8] = le(UInt16(4 + payload.count))
        out += le(type)
        out += payload
        return out + [UInt8](repeating: 0, count: padding)
    }

    var size: Int { encode().count }
}

func genlMessage(command: UInt8, type: UInt16 = WG.family, flags: UInt16 = 0x2 /* NLM_F_MULTI */, seq: UInt32 = 1, _ attrs: [TLV], nestedFlag: Bool = true) -> [UInt8] {
    var body: [UInt8] = [command, 1, 0, 0]
    for a in attrs { body += a.encode(nestedFlag: nestedFlag) }
    var m: [UInt8] = le(UInt32(16 + body.count))
    m += le(type)
    m += le(flags)
    m += le(seq)
    m += le(UInt32(4242))
    return m + body
}

func sockaddrBytes(_ e: Endpoint) -> [UInt8] {
    let port: [UInt8] = [UInt8(e.port >> 8), UInt8(e.port & 0xff)]
    var out: [UInt8]
    switch e.host {
    case .ipv4(let a):
        out = le(UInt16(AF_INET)) + port
        out += a.octets
        out += [UInt8](repeating: 0, count: 8)
    case .ipv6(let a):
        out = le(UInt16(AF_INET6)) + port
        out += [0, 0, 0, 0]
        out += a.bytes
        out += [0, 0, 0, 0]
    case .name: fatalError("no sockaddr for a name")
    }
    return out
}

func allowedIPNode(_ r: IPAddressRange) -> TLV {
    .nest(0, [.u16(WG.A.family, UInt16(r.family == .v4 ? AF_INET : AF_INET6)), .raw(WG.A.address, r.bytes), .u8(WG.A.cidr, r.prefixLength)])
}

/// A WG_CMD_GET_DEVICE dump as the kernel's netlink.c builds it: device settings in the first
/// message only, as many peers as fit in `budget` bytes per message, and a peer whose allowed
/// IPs overflow continued (key and an ALLOWEDIPS nest only) at the start of the next message.
func kernelDump(_ d: DeviceState, budget: Int, ifindex: UInt32 = 7, nestedFlag: Bool = true) -> [[UInt8]] {
    precondition(budget >= 400)
    var messages: [[UInt8]] = []
    var peerIndex = 0, ipIndex = 0
    repeat {
        var attrs: [TLV] = [.u32(WG.D.ifindex, ifindex), .strz(WG.D.ifname, d.name)]
        if messages.isEmpty {
            if let k = d.privateKey {
                attrs.append(.raw(WG.D.privateKey, k.rawValue))
                attrs.append(.raw(WG.D.publicKey, k.publicKey.rawValue))
            }
            attrs.append(.u16(WG.D.listenPort, d.listenPort))
            attrs.append(.u32(WG.D.fwmark, d.fwmark))
        }
        var used = 20 + attrs.reduce(0) { $0 + $1.size } + 4
        var peers: [TLV] = []
        while peerIndex < d.peers.count {
            let p = d.peers[peerIndex]
            var header: [TLV] = [.raw(WG.P.publicKey, p.publicKey.rawValue)]
            if ipIndex == 0 {
                header.append(.raw(WG.P.psk, p.presharedKey.rawValue))
                let h = p.lastHandshake ?? .init(seconds: 0, nanoseconds: 0)
                header.append(.raw(WG.P.handshake, le(h.seconds) + le(h.nanoseconds)))
                header.append(.u16(WG.P.keepalive, p.persistentKeepalive))
                header.append(.u64(WG.P.tx, p.txBytes))
                header.append(.u64(WG.P.rx, p.rxBytes))
                header.append(.u32(WG.P.protocolVersion, p.protocolVersion))
                if let e = p.endpoint { header.append(.raw(WG.P.endpoint, sockaddrBytes(e))) }
            }
            let headerSize = 4 + header.reduce(0) { $0 + $1.size } + 4
            if used + headerSize > budget { break }
            used += headerSize
            var ips: [TLV] = []
            while ipIndex < p.allowedIPs.count {
                let node = allowedIPNode(p.allowedIPs[ipIndex])
                if used + node.size > budget { break }
                used += node.size
                ips.append(node)
                ipIndex += 1
            }
            peers.append(.nest(0, header + [.nest(WG.P.allowedIPs, ips)]))
            if ipIndex < p.allowedIPs.count { break }
            peerIndex += 1
            ipIndex = 0
        }
        if !peers.isEmpty { attrs.append(.nest(WG.D.peers, peers)) }
        messages.append(genlMessage(command: WG.cmdGet, seq: UInt32(messages.count), attrs, nestedFlag: nestedFlag))
    } while peerIndex < d.peers.count
    return messages
}

/// A parsed attribute, checked strictly: aligned, zero padding, nothing left over.
struct Attr {
    let type: UInt16
    let nested: Bool
    let payload: ArraySlice<UInt8>

    static func parse(_ b: ArraySlice<UInt8>) throws -> [Attr] {
        var out: [Attr] = []
        var i = b.startIndex
        while i < b.endIndex {
            guard b.endIndex - i >= 4 else { throw CodecError("\(b.endIndex - i) stray bytes after the attributes") }
            let len = Int(readLE(b[i..<(i + 2)], as: UInt16.self))
            let type = readLE(b[(i + 2)..<(i + 4)], as: UInt16.self)
            guard len >= 4, len <= b.endIndex - i else { throw CodecError("attribute \(type) length \(len) overruns") }
            let padded = (len + 3) & ~3
            guard padded <= b.endIndex - i else { throw CodecError("attribute \(type) padding overruns") }
            guard b[(i + len)..<(i + padded)].allSatisfy({ $0 == 0 }) else { throw CodecError("attribute \(type) has non-zero padding") }
            out.append(Attr(type: type & 0x3fff, nested: type & WG.nestedFlag != 0, payload: b[(i + 4)..<(i + len)]))
            i += padded
        }
        return out
    }

    func children() throws -> [Attr] {
        guard nested else { throw CodecError("attribute \(type) should carry NLA_F_NESTED") }
        return try Attr.parse(payload)
    }
    var u16: UInt16 { readLE(payload) }
    var u32: UInt32 { readLE(payload) }
}

func endpoint(fromSockaddr b: ArraySlice<UInt8>) throws -> Endpoint {
    let s = b.startIndex
    let port = UInt16(b[s + 2]) << 8 | UInt16(b[s + 3])
    switch Int32(readLE(b[s..<(s + 2)], as: UInt16.self)) {
    case AF_INET:
        guard b.count == 16 else { throw CodecError("sockaddr_in of \(b.count) bytes") }
        return Endpoint(host: .ipv4(IPv4Address(b[(s + 4)..<(s + 8)].reduce(0) { $0 << 8 | UInt32($1) })), port: port)
    case AF_INET6:
        guard b.count == 28 else { throw CodecError("sockaddr_in6 of \(b.count) bytes") }
        return Endpoint(host: .ipv6(IPv6Address(bytes: Array(b[(s + 8)..<(s + 24)]))!), port: port)
    default: throw CodecError("endpoint family")
    }
}

/// Reads WG_CMD_SET_DEVICE messages back into the update they carry, enforcing the splitting
/// rules: device settings and REPLACE_PEERS only in the first message; a peer continued from
/// the previous message comes first, with UPDATE_ONLY alone and nothing but allowed IPs.
func decodeSetMessages(_ messages: [[UInt8]], interface: String, maxSize: Int) throws -> (update: DeviceUpdate, continuations: Int) {
    var u = DeviceUpdate()
    var continuations = 0
    for (i, m) in messages.enumerated() {
        guard m.count <= maxSize else { throw CodecError("message \(i) has \(m.count) bytes, limit \(maxSize)") }
        guard m.count >= 20, Int(readLE(m[0..<4], as: UInt32.self)) == m.count else { throw CodecError("message \(i) length field") }
        guard readLE(m[4..<6], as: UInt16.self) == WG.family else { throw CodecError("message \(i) type") }
        guard readLE(m[6..<8], as: UInt16.self) & 1 == 1 else { throw CodecError("message \(i) lacks NLM_F_REQUEST") }
        guard m[16] == WG.cmdSet, m[17] == 1 else { throw CodecError("message \(i) genl header \(m[16]) v\(m[17])") }
        var sawName = false
        for a in try Attr.parse(m[20...]) {
            if i > 0, [WG.D.privateKey, WG.D.listenPort, WG.D.fwmark, WG.D.flags].contains(a.type) {
                throw CodecError("device attribute \(a.type) repeated in message \(i)")
            }
            switch a.type {
            case WG.D.ifname:
                guard Array(a.payload) == Array(interface.utf8) + [0] else { throw CodecError("ifname") }
                sawName = true
            case WG.D.privateKey: u.privateKey = try PrivateKey(rawValue: Array(a.payload))
            case WG.D.listenPort: u.listenPort = a.u16
            case WG.D.fwmark: u.fwmark = a.u32
            case WG.D.flags: u.replacePeers = a.u32 & WG.replacePeers != 0
            case WG.D.peers:
                for (j, p) in try a.children().enumerated() {
                    var peer = PeerUpdate(publicKey: try PublicKey(rawValue: [UInt8](repeating: 0, count: 32)))
                    var flags: UInt32 = 0
                    var key: PublicKey?
                    var settings = 0
                    for f in try p.children() {
                        switch f.type {
                        case WG.P.publicKey: key = try PublicKey(rawValue: Array(f.payload))
                        case WG.P.flags: flags = f.u32
                        case WG.P.psk: peer.presharedKey = PresharedKey(rawValue: Array(f.payload)); settings += 1
                        case WG.P.endpoint: peer.endpoint = try endpoint(fromSockaddr: f.payload); settings += 1
                        case WG.P.keepalive: peer.persistentKeepalive = f.u16; settings += 1
                        case WG.P.allowedIPs:
                            for ip in try f.children() {
                                var fam: UInt16?, addr: [UInt8]?, cidr: UInt8?
                                for x in try ip.children() {
                                    switch x.type {
                                    case WG.A.family: fam = x.u16
                                    case WG.A.address: addr = Array(x.payload)
                                    case WG.A.cidr: cidr = x.payload.first
                                    default: throw CodecError("allowed IP attribute \(x.type)")
                                    }
                                }
                                guard let fam, let addr, let cidr,
                                      let r = IPAddressRange(family: fam == AF_INET ? .v4 : .v6, bytes: addr, prefixLength: Int(cidr)) else {
                                    throw CodecError("incomplete allowed IP")
                                }
                                peer.allowedIPs.append(r)
                            }
                        default: throw CodecError("unexpected peer attribute \(f.type)")
                        }
                    }
                    guard let key else { throw CodecError("peer without key") }
                    if i > 0, j == 0, let last = u.peers.last, last.publicKey == key {
                        guard flags == WG.updateOnly, settings == 0, !peer.allowedIPs.isEmpty else {
                            throw CodecError("continuation of \(key) has flags \(flags) and \(settings) settings")
                        }
                        u.peers[u.peers.count - 1].allowedIPs += peer.allowedIPs
                        continuations += 1
                        continue
                    }
                    peer = PeerUpdate(publicKey: key, remove: flags & WG.removeMe != 0, updateOnly: flags & WG.updateOnly != 0,
                                      presharedKey: peer.presharedKey, endpoint: peer.endpoint, persistentKeepalive: peer.persistentKeepalive,
                                      replaceAllowedIPs: flags & WG.replaceAllowedIPs != 0, allowedIPs: peer.allowedIPs)
                    u.peers.append(peer)
                }
            default: throw CodecError("unexpected device attribute \(a.type)")
            }
        }
        guard sawName else { throw CodecError("message \(i) lacks WGDEVICE_A_IFNAME") }
    }
    return (u, continuations)
}

/// Generated peer sets for the netlink tests, reproducible from a seed.
extension SeededRNG {
    mutating func key() -> PublicKey { try! PublicKey(rawValue: bytes(32)) }
    mutating func v4(_ prefix: Int) -> IPAddressRange { IPAddressRange(family: .v4, bytes: bytes(4), prefixLength: prefix)! }
    mutating func v6(_ prefix: Int) -> IPAddressRange { IPAddressRange(family: .v6, bytes: bytes(16), prefixLength: prefix)! }
}
