import CMnl
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// IPv4 routes through an interface in the main table: the overlay prefixes reached over
/// WireGuard. Idempotent, like the addresses.
extension Link {
    /// Adds or replaces (NLM_F_REPLACE) the route to `prefix` through `interface`, which must be up.
    public static func addRoute(_ prefix: IPv4Prefix, interface: String) throws {
        let m = try routeMessage(RTM_NEWROUTE, prefix, interface, flags: NLM_F_CREATE | NLM_F_REPLACE, scope: UInt8(RT_SCOPE_LINK.rawValue))
        try socket().request(m, operation: "adding the route to \(prefix) via \(interface)", interface: interface, accepting: [EEXIST])
    }

    public static func removeRoute(_ prefix: IPv4Prefix, interface: String) throws {
        // Scope "nowhere" matches a route of any scope, as `ip route del` does.
        let m = try routeMessage(RTM_DELROUTE, prefix, interface, flags: 0, scope: UInt8(RT_SCOPE_NOWHERE.rawValue))
        try socket().request(m, operation: "removing the route to \(prefix) via \(interface)", interface: interface, accepting: [ESRCH])
    }

    /// The unicast routes of the main table that go out through `interface`.
    public static func routes(_ interface: String) throws -> [IPv4Prefix] {
        let index = UInt32(bitPattern: try ifindex(interface))
        var h = rtmsg()
        h.rtm_family = UInt8(AF_INET)
        let m = NetlinkMessage(type: UInt16(RTM_GETROUTE))
        m.putHeader(h)
        var out: [IPv4Prefix] = []
        for raw in try socket().dump(m.bytes, operation: "listing routes", interface: interface) {
            for message in try NetlinkReceived.split(raw) where message.type == UInt16(RTM_NEWROUTE) {
                let size = MemoryLayout<rtmsg>.size
                guard message.payload.count >= size else { throw WireGuardError.malformedReply("short RTM_NEWROUTE") }
                let r = message.payload.prefix(size).withUnsafeBytes { $0.loadUnaligned(as: rtmsg.self) }
                guard r.rtm_family == UInt8(AF_INET), r.rtm_type == UInt8(RTN_UNICAST) else { continue }
                var table = UInt32(r.rtm_table), oif: UInt32?, dst = IPv4Address(0)
                for a in try NetlinkAttribute.parse(message.payload.dropFirst(size)) {
                    switch Int(a.type) {
                    case Int(RTA_TABLE.rawValue): table = try a.u32()
                    case Int(RTA_OIF.rawValue): oif = try a.u32()
                    case Int(RTA_DST.rawValue): dst = IPv4Address(try a.bytes(4).reduce(0) { $0 << 8 | UInt32($1) })
                    default: break
                    }
                }
                guard table == UInt32(RT_TABLE_MAIN.rawValue), oif == index, let p = IPv4Prefix(address: dst, length: Int(r.rtm_dst_len)) else { continue }
                out.append(p)
            }
        }
        return out
    }

    private static func routeMessage(_ type: Int, _ prefix: IPv4Prefix, _ interface: String, flags: Int32, scope: UInt8) throws -> [UInt8] {
        var h = rtmsg()
        h.rtm_family = UInt8(AF_INET)
        h.rtm_dst_len = UInt8(prefix.length)
        h.rtm_table = UInt8(RT_TABLE_MAIN.rawValue)
        h.rtm_protocol = UInt8(RTPROT_BOOT)
        h.rtm_scope = scope
        h.rtm_type = UInt8(RTN_UNICAST)
        let m = NetlinkMessage(type: UInt16(type), flags: flags)
        m.putHeader(h)
        if prefix.length > 0 { m.put(UInt16(RTA_DST.rawValue), prefix.address.octets) }
        m.put(UInt16(RTA_OIF.rawValue), u32: UInt32(bitPattern: try ifindex(interface)))
        return m.bytes
    }
}
