import CMnl
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The kernel's WireGuard generic netlink messages (Sources/CMnl/wireguard.h), encoded and
/// decoded as bytes with no socket, so every layout detail is unit-testable.
public enum WireGuardNetlink {
    /// Largest SET_DEVICE message we build. The kernel accepts far larger requests (up to the
    /// socket's send buffer); 32 KiB keeps round trips few and stays below the u16 nest length.
    public static let defaultMessageSize = 32768

    // Attribute numbers as u16, from the vendored header (the names are ABI).
    enum Device {
        static let ifname = UInt16(WGDEVICE_A_IFNAME.rawValue)
        static let privateKey = UInt16(WGDEVICE_A_PRIVATE_KEY.rawValue)
        static let flags = UInt16(WGDEVICE_A_FLAGS.rawValue)
        static let listenPort = UInt16(WGDEVICE_A_LISTEN_PORT.rawValue)
        static let fwmark = UInt16(WGDEVICE_A_FWMARK.rawValue)
        static let peers = UInt16(WGDEVICE_A_PEERS.rawValue)
        static let replacePeers = UInt32(WGDEVICE_F_REPLACE_PEERS.rawValue)
    }
    enum Peer {
        static let publicKey = UInt16(WGPEER_A_PUBLIC_KEY.rawValue)
        static let presharedKey = UInt16(WGPEER_A_PRESHARED_KEY.rawValue)
        static let flags = UInt16(WGPEER_A_FLAGS.rawValue)
        static let endpoint = UInt16(WGPEER_A_ENDPOINT.rawValue)
        static let keepalive = UInt16(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL.rawValue)
        static let lastHandshake = UInt16(WGPEER_A_LAST_HANDSHAKE_TIME.rawValue)
        static let rxBytes = UInt16(WGPEER_A_RX_BYTES.rawValue)
        static let txBytes = UInt16(WGPEER_A_TX_BYTES.rawValue)
        static let allowedIPs = UInt16(WGPEER_A_ALLOWEDIPS.rawValue)
        static let protocolVersion = UInt16(WGPEER_A_PROTOCOL_VERSION.rawValue)
        static let removeMe = UInt32(WGPEER_F_REMOVE_ME.rawValue)
        static let replaceAllowedIPs = UInt32(WGPEER_F_REPLACE_ALLOWEDIPS.rawValue)
        static let updateOnly = UInt32(WGPEER_F_UPDATE_ONLY.rawValue)
    }
    enum AllowedIP {
        static let family = UInt16(WGALLOWEDIP_A_FAMILY.rawValue)
        static let address = UInt16(WGALLOWEDIP_A_IPADDR.rawValue)
        static let cidr = UInt16(WGALLOWEDIP_A_CIDR_MASK.rawValue)
    }
    static let version = UInt8(WG_GENL_VERSION)
    static let getCommand = UInt8(WG_CMD_GET_DEVICE.rawValue)
    static let setCommand = UInt8(WG_CMD_SET_DEVICE.rawValue)

    /// Interface names as the kernel takes them: 1-15 bytes, no '/', ':' or whitespace.
    static func validate(interface name: String) throws {
        let b = Array(name.utf8)
        guard (1..<Int(IFNAMSIZ)).contains(b.count), name != ".", name != "..",
              !b.contains(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 32 || $0 == 127 }) else {
            throw WireGuardError.invalidConfiguration("'\(name)' is not a valid interface name (1-15 characters, no '/', ':' or spaces)")
        }
    }

    /// WG_CMD_GET_DEVICE for one interface, by name (sent as a dump).
    public static func getRequest(interface: String, family: UInt16) throws -> [UInt8] {
        try validate(interface: interface)
        let m = NetlinkMessage(capacity: 256, type: family)
        m.putGenericHeader(command: getCommand, version: version)
        m.put(Device.ifname, cString: interface)
        return m.bytes
    }

    // MARK: Endpoints and allowed IPs

    /// `struct sockaddr_in` / `struct sockaddr_in6`: family in host order, port and address in
    /// network order, flow info and scope id zero.
    static func sockaddr(_ e: Endpoint) throws -> [UInt8] {
        let port = [UInt8(e.port >> 8), UInt8(e.port & 0xff)]
        switch e.host {
        case .ipv4(let a):
            return withUnsafeBytes(of: UInt16(AF_INET)) { Array($0) } + port + a.octets + [UInt8](repeating: 0, count: 8)
        case .ipv6(let a):
            return withUnsafeBytes(of: UInt16(AF_INET6)) { Array($0) } + port + [0, 0, 0, 0] + a.bytes + [0, 0, 0, 0]
        case .name:
            throw WireGuardError.invalidConfiguration("endpoint \(e) is a hostname; WireGuard needs an IP address (resolve it first)")
        }
    }

    static func endpoint(sockaddr b: ArraySlice<UInt8>) throws -> Endpoint? {
        guard b.count >= 4 else { throw WireGuardError.malformedReply("endpoint of \(b.count) bytes") }
        let family = Int32(b.loadU16(at: b.startIndex))
        let s = b.startIndex
        let port = UInt16(b[s + 2]) << 8 | UInt16(b[s + 3])
        switch family {
        case AF_INET:
            guard b.count >= 8 else { throw WireGuardError.malformedReply("IPv4 endpoint of \(b.count) bytes") }
            return Endpoint(host: .ipv4(IPv4Address(b[(s + 4)..<(s + 8)].reduce(0) { $0 << 8 | UInt32($1) })), port: port)
        case AF_INET6:
            guard b.count >= 24 else { throw WireGuardError.malformedReply("IPv6 endpoint of \(b.count) bytes") }
            return Endpoint(host: .ipv6(IPv6Address(bytes: Array(b[(s + 8)..<(s + 24)]))!), port: port)
        default:
            return nil  // AF_UNSPEC: no endpoint known yet
        }
    }

    static func addressFamily(_ r: IPAddressRange) -> UInt16 { UInt16(r.family == .v4 ? AF_INET : AF_INET6) }
}
