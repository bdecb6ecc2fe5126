/// The internal byte decoders, reachable from the fuzz harness (Sources/FuzzHarness) in this
/// package only. Each forwards to the decoder the backends use, unchanged.
package enum NetlinkDecoding {
    /// `NetlinkReceived.split`: each message's type, flags and the bytes after nlmsghdr.
    package static func messages(_ datagram: [UInt8]) throws -> [(type: UInt16, flags: UInt16, payload: ArraySlice<UInt8>)] {
        try NetlinkReceived.split(datagram).map { ($0.type, $0.flags, $0.payload) }
    }

    /// `NetlinkAttribute.parse`, with every accessor the decoders call tried on each attribute
    /// (a refusal is an answer; only a trap is a bug) and nests followed `depth` levels down.
    package static func attributes(_ bytes: ArraySlice<UInt8>, depth: Int) throws -> [(type: UInt16, payload: ArraySlice<UInt8>)] {
        let attrs = try NetlinkAttribute.parse(bytes)
        for a in attrs {
            _ = try? a.u8(); _ = try? a.u16(); _ = try? a.u32(); _ = try? a.u64()
            _ = try? a.bytes(4); _ = try? a.bytes(32); _ = a.string
            if depth > 0 { _ = try? attributes(a.payload, depth: depth - 1) }
        }
        return attrs.map { ($0.type, $0.payload) }
    }

    /// `NetlinkSocket.parseError`: an nlmsgerr's positive errno and extended-ack message.
    package static func error(_ message: [UInt8]) -> (errno: Int32, message: String?) {
        NetlinkSocket.parseError(message)
    }

    /// `Link.parseLink`: RTM_NEWLINK's payload.
    package static func link(_ payload: ArraySlice<UInt8>) throws -> Link.Description {
        try Link.parseLink(payload)
    }

    /// `GenericNetlink.familyID`: the controller's answer to CTRL_CMD_GETFAMILY.
    package static func familyID(_ messages: [[UInt8]]) throws -> UInt16 {
        try GenericNetlink.familyID(in: messages)
    }

    /// The WireGuard genl command that `decodeDevice` reads (WG_CMD_GET_DEVICE).
    package static var getCommand: UInt8 { WireGuardNetlink.getCommand }
}
