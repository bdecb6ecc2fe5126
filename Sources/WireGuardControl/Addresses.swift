import CMnl
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// IPv4 addresses on an interface (the overlay is IPv4 only). Adding and removing are
/// idempotent: the agent re-applies its state after every restart.
extension Link {
    public static func addAddress(_ name: String, _ address: IPv4Address, prefixLength: Int) throws {
        let m = try addressMessage(RTM_NEWADDR, name, address, prefixLength, flags: NLM_F_CREATE | NLM_F_EXCL)
        try socket().request(m, operation: "adding address \(address)/\(prefixLength) to \(name)", interface: name, accepting: [EEXIST])
    }

    public static func removeAddress(_ name: String, _ address: IPv4Address, prefixLength: Int) throws {
        let m = try addressMessage(RTM_DELADDR, name, address, prefixLength, flags: 0)
        try socket().request(m, operation: "removing address \(address)/\(prefixLength) from \(name)", interface: name, accepting: [EADDRNOTAVAIL])
    }

    /// The IPv4 addresses on `name`, in the kernel's order.
    public static func listAddresses(_ name: String) throws -> [(address: IPv4Address, prefixLength: Int)] {
        let index = try ifindex(name)
        var h = ifaddrmsg()
        h.ifa_family = UInt8(AF_INET)
        let m = NetlinkMessage(type: UInt16(RTM_GETADDR))
        m.putHeader(h)
        var out: [(address: IPv4Address, prefixLength: Int)] = []
        for raw in try socket().dump(m.bytes, operation: "listing the addresses of \(name)", interface: name) {
            for message in try NetlinkReceived.split(raw) where message.type == UInt16(RTM_NEWADDR) {
                let size = MemoryLayout<ifaddrmsg>.size
                guard message.payload.count >= size else { throw WireGuardError.malformedReply("short RTM_NEWADDR") }
                let a = message.payload.prefix(size).withUnsafeBytes { $0.loadUnaligned(as: ifaddrmsg.self) }
                // The dump covers every interface; older kernels ignore a filter in the request.
                guard a.ifa_family == UInt8(AF_INET), a.ifa_index == UInt32(bitPattern: index) else { continue }
                let attrs = try NetlinkAttribute.parse(message.payload.dropFirst(size))
                // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer's on point-to-point links.
                guard let attr = attrs.first(where: { $0.type == UInt16(IFA_LOCAL) }) ?? attrs.first(where: { $0.type == UInt16(IFA_ADDRESS) }) else { continue }
                let b = try attr.bytes(4)
                out.append((IPv4Address(b.reduce(0) { $0 << 8 | UInt32($1) }), Int(a.ifa_prefixlen)))
            }
        }
        return out
    }

    private static func addressMessage(_ type: Int, _ name: String, _ address: IPv4Address, _ prefixLength: Int, flags: Int32) throws -> [UInt8] {
        guard (0...32).contains(prefixLength) else { throw WireGuardError.invalidConfiguration("prefix length \(prefixLength) for \(address)") }
        var h = ifaddrmsg()
        h.ifa_family = UInt8(AF_INET)
        h.ifa_prefixlen = UInt8(prefixLength)
        h.ifa_scope = UInt8(RT_SCOPE_UNIVERSE.rawValue)
        h.ifa_index = UInt32(bitPattern: try ifindex(name))
        let m = NetlinkMessage(type: UInt16(type), flags: flags)
        m.putHeader(h)
        m.put(UInt16(IFA_LOCAL), address.octets)
        m.put(UInt16(IFA_ADDRESS), address.octets)
        return m.bytes
    }
}
