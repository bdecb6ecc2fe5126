import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// Network interfaces over rtnetlink (through libmnl), in the calling thread's network
/// namespace: create, delete, bring up, set the MTU. Addresses and routes are in
/// Addresses.swift and Routes.swift.
public enum Link {
    /// What the kernel reports about one interface.
    public struct Description: Sendable, Equatable {
        public var name: String
        public var index: Int32
        /// IFLA_INFO_KIND: "wireguard", "dummy", "tun", ...; nil for a plain device.
        public var kind: String?
        public var mtu: UInt32
        public var isUp: Bool
    }

    public static func ifindex(_ name: String) throws -> Int32 {
        try WireGuardNetlink.validate(interface: name)
        let i = if_nametoindex(name)
        guard i != 0 else { throw WireGuardError.noSuchInterface(name) }
        return Int32(bitPattern: i)
    }

    public static func exists(_ name: String) -> Bool { (try? ifindex(name)) != nil }

    public static func describe(_ name: String) throws -> Description {
        try WireGuardNetlink.validate(interface: name)
        let m = NetlinkMessage(type: UInt16(RTM_GETLINK))
        m.putHeader(ifinfomsg())
        m.put(UInt16(IFLA_IFNAME), cString: name)
        let reply = try socket().request(m.bytes, operation: "reading link \(name)", interface: name)
        for raw in reply.messages {
            for message in try NetlinkReceived.split(raw) where message.type == UInt16(RTM_NEWLINK) {
                return try parseLink(message.payload)
            }
        }
        throw WireGuardError.malformedReply("no RTM_NEWLINK in the reply about \(name)")
    }

    /// RTM_NEWLINK's payload: ifinfomsg, then IFLA_* attributes.
    static func parseLink(_ payload: ArraySlice<UInt8>) throws -> Description {
        let size = MemoryLayout<ifinfomsg>.size
        guard payload.count >= size else { throw WireGuardError.malformedReply("short RTM_NEWLINK") }
        let info = payload.prefix(size).withUnsafeBytes { $0.loadUnaligned(as: ifinfomsg.self) }
        var d = Description(name: "", index: info.ifi_index, kind: nil, mtu: 0, isUp: info.ifi_flags & UInt32(IFF_UP) != 0)
        for a in try NetlinkAttribute.parse(payload.dropFirst(size)) {
            switch Int(a.type) {
            case Int(IFLA_IFNAME): d.name = a.string
            case Int(IFLA_MTU): d.mtu = try a.u32()
            case Int(IFLA_LINKINFO):
                d.kind = try a.nested().first { $0.type == UInt16(IFLA_INFO_KIND) }?.string
            default: break
            }
        }
        return d
    }

    /// Creates a link of `kind` (NLM_F_EXCL). An existing link of the same kind is fine, so
    /// this is idempotent; one of another kind is an error, never silently reused.
    public static func create(_ name: String, kind: String) throws {
        try WireGuardNetlink.validate(interface: name)
        let m = NetlinkMessage(type: UInt16(RTM_NEWLINK), flags: NLM_F_CREATE | NLM_F_EXCL)
        m.putHeader(ifinfomsg())
        m.put(UInt16(IFLA_IFNAME), cString: name)
        let info = m.nestStart(UInt16(IFLA_LINKINFO))!
        m.put(UInt16(IFLA_INFO_KIND), string: kind)
        m.nestEnd(info)
        let op = "creating \(kind) link \(name)"
        let reply = try socket().request(m.bytes, operation: op, interface: name, accepting: [EEXIST, EOPNOTSUPP])
        switch reply.errno {
        case EEXIST:
            let existing = try describe(name).kind
            if existing == kind { return }
            if kind == "wireguard" { throw WireGuardError.notWireGuard(name) }
            throw WireGuardError.system(operation: "\(op) (it exists as a \(existing ?? "plain") link)", errno: EEXIST)
        case EOPNOTSUPP:
            // "Unknown device type": no module for this kind, and the kernel could not load one.
            if kind == "wireguard" { throw WireGuardError.kernelModuleMissing }
            throw NetlinkSocket.error(reply, operation: op, interface: name, refusal: false)
        default:
            return
        }
    }

    /// A kernel WireGuard interface: `.kernelModuleMissing` without the module, `.notWireGuard`
    /// when the name is taken by another kind of link.
    public static func createWireGuard(_ name: String) throws { try create(name, kind: "wireguard") }

    /// Deletes the link; `.noSuchInterface` if there is none.
    public static func delete(_ name: String) throws {
        var h = ifinfomsg()
        h.ifi_index = try ifindex(name)
        let m = NetlinkMessage(type: UInt16(RTM_DELLINK))
        m.putHeader(h)
        try socket().request(m.bytes, operation: "deleting link \(name)", interface: name)
    }

    public static func setUp(_ name: String, up: Bool = true) throws {
        var h = ifinfomsg()
        h.ifi_index = try ifindex(name)
        h.ifi_flags = up ? UInt32(IFF_UP) : 0
        h.ifi_change = UInt32(IFF_UP)  // touch only IFF_UP
        let m = NetlinkMessage(type: UInt16(RTM_NEWLINK))
        m.putHeader(h)
        try socket().request(m.bytes, operation: "bringing link \(name) \(up ? "up" : "down")", interface: name)
    }

    public static func setMTU(_ name: String, _ mtu: UInt32) throws {
        var h = ifinfomsg()
        h.ifi_index = try ifindex(name)
        let m = NetlinkMessage(type: UInt16(RTM_NEWLINK))
        m.putHeader(h)
        m.put(UInt16(IFLA_MTU), u32: mtu)
        try socket().request(m.bytes, operation: "setting the MTU of \(name) to \(mtu)", interface: name)
    }

    static func socket() throws -> NetlinkSocket { try NetlinkSocket(bus: NETLINK_ROUTE) }
}
