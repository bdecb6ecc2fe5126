/// An IPv4 prefix such as 100.80.0.0/24. The address must be the network address (no host bits set),
/// so that a typo like 100.80.0.1/24 is refused rather than silently widened.
public struct IPv4Prefix: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let address: IPv4Address
    public let length: Int

    public init?(address: IPv4Address, length: Int) {
        guard (0...32).contains(length) else { return nil }
        guard address.value & ~IPv4Prefix.mask(length) == 0 else { return nil }
        self.address = address
        self.length = length
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(String(parts[0])),
              parts[1].count <= 2, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }),
              !(parts[1].count > 1 && parts[1].first == "0"), let l = Int(parts[1]) else { return nil }
        self.init(address: a, length: l)
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length) }

    public var mask: UInt32 { IPv4Prefix.mask(length) }
    public var first: IPv4Address { address }
    public var last: IPv4Address { IPv4Address(address.value | ~mask) }
    /// Number of addresses, network and broadcast included.
    public var size: UInt64 { UInt64(1) << UInt64(32 - length) }
    public var description: String { "\(address)/\(length)" }

    public func contains(_ a: IPv4Address) -> Bool { a.value & mask == address.value }
    public func overlaps(_ other: IPv4Prefix) -> Bool { contains(other.address) || other.contains(address) }
    /// Whether `other` lies wholly inside this prefix.
    public func covers(_ other: IPv4Prefix) -> Bool { other.length >= length && contains(other.address) }

    /// The host route for one address.
    public static func host(_ a: IPv4Address) -> IPv4Prefix { IPv4Prefix(address: a, length: 32)! }
}

extension IPv4Prefix: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let p = IPv4Prefix(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid IPv4 prefix \"\(s.prefix(64))\""))
        }
        self = p
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
