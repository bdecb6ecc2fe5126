import CMnl
#if canImport(Glibc)
import Glibc
#endif

/// Generic netlink families get their message type at run time; the controller family
/// (GENL_ID_CTRL) maps names to ids. libmnl has no helper for this, so here it is.
enum GenericNetlink {
    /// The id of family `name`. A family that does not exist (for "wireguard": no module, and
    /// the kernel could not load one) throws `.kernelModuleMissing`.
    static func resolveFamily(_ name: String) throws -> UInt16 {
        let socket = try NetlinkSocket(bus: NETLINK_GENERIC)
        let reply = try socket.request(familyRequest(name), operation: "looking up generic netlink family \(name)", accepting: [ENOENT])
        if reply.errno == ENOENT { throw WireGuardError.kernelModuleMissing }
        return try familyID(in: reply.messages)
    }

    /// CTRL_CMD_GETFAMILY with CTRL_ATTR_FAMILY_NAME.
    static func familyRequest(_ name: String) -> [UInt8] {
        let m = NetlinkMessage(capacity: 256, type: UInt16(GENL_ID_CTRL))
        m.putGenericHeader(command: UInt8(CTRL_CMD_GETFAMILY), version: 1)
        m.put(UInt16(CTRL_ATTR_FAMILY_NAME), cString: name)
        return m.bytes
    }

    /// CTRL_ATTR_FAMILY_ID from the controller's reply.
    static func familyID(in messages: [[UInt8]]) throws -> UInt16 {
        for raw in messages {
            for message in try NetlinkReceived.split(raw) where message.payload.count >= 4 {
                let attrs = try NetlinkAttribute.parse(message.payload.dropFirst(4))  // after genlmsghdr
                if let id = attrs.first(where: { $0.type == UInt16(CTRL_ATTR_FAMILY_ID) }) { return try id.u16() }
            }
        }
        throw WireGuardError.malformedReply("generic netlink controller reply without CTRL_ATTR_FAMILY_ID")
    }
}
