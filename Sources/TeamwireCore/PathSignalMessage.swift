/// Path news relayed by the hub between two members of one team (see the agent's PathSignal
/// and the coordinator's HubSignals). One UDP datagram on port 7947: a fixed magic, a kind, then
/// one member's overlay address. To the hub it names the member the news is for; from the hub
/// it names the member the news is from.
public enum PathSignalMessage {
    public static let port: UInt16 = 7947
    public static let magic: [UInt8] = Array("teamwire-path-1".utf8)

    public enum Kind: UInt8, Sendable, Equatable {
        /// "My direct path to you failed: I send through the hub now."
        case relay = 1
        /// "A direct handshake with you just worked: I send directly now."
        case direct = 2
    }

    public static func encode(_ kind: Kind, _ member: IPv4Address) -> [UInt8] {
        let v = member.value
        return magic + [kind.rawValue, UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
    }

    /// The kind and the address a datagram names, or nil if it is not exactly a signal.
    public static func parse(_ bytes: some Collection<UInt8>) -> (kind: Kind, member: IPv4Address)? {
        guard bytes.count == magic.count + 5, bytes.starts(with: magic) else { return nil }
        let a = Array(bytes.dropFirst(magic.count))
        guard let kind = Kind(rawValue: a[0]) else { return nil }
        return (kind, IPv4Address(UInt32(a[1]) << 24 | UInt32(a[2]) << 16 | UInt32(a[3]) << 8 | UInt32(a[4])))
    }
}
