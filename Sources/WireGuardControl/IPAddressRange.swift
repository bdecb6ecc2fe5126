import TeamwireCore

/// An allowed-IPs entry: an IPv4 or IPv6 prefix, kept canonical (host bits cleared) the way
/// both the kernel and wireguard-go report it, so read-back compares equal to what was set.
public struct IPAddressRange: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    public enum Family: UInt8, Sendable { case v4 = 4, v6 = 6 }

    public let family: Family
    /// 4 or 16 bytes, network order, host bits zero.
    public let bytes: [UInt8]
    public let prefixLength: UInt8

    public init?(family: Family, bytes: [UInt8], prefixLength: Int) {
        let width = family == .v4 ? 4 : 16
        guard bytes.count == width, (0...(width * 8)).contains(prefixLength) else { return nil }
        var masked = bytes
        for i in 0..<width {
            let keep = max(0, min(8, prefixLength - i * 8))
            masked[i] &= keep == 0 ? 0 : ~UInt8(0) << (8 - keep)
        }
        self.family = family
        self.bytes = masked
        self.prefixLength = UInt8(prefixLength)
    }

    public init(_ prefix: IPv4Prefix) {
        self.init(family: .v4, bytes: prefix.address.octets, prefixLength: prefix.length)!
    }

    public static func host(_ a: IPv4Address) -> IPAddressRange { IPAddressRange(.host(a)) }

    /// `10.0.0.0/24`, `fd00::/64`; a bare address means a single host.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let addr = String(parts[0])
        var length: Int?
        if parts.count == 2 {
            let l = parts[1]
            guard !l.isEmpty, l.count <= 3, l.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(l) else { return nil }
            length = n
        }
        if let v4 = IPv4Address(addr) {
            self.init(family: .v4, bytes: v4.octets, prefixLength: length ?? 32)
        } else if let v6 = IPv6Address(addr) {
            self.init(family: .v6, bytes: v6.bytes, prefixLength: length ?? 128)
        } else {
            return nil
        }
    }

    public var addressString: String {
        switch family {
        case .v4: IPv4Address(bytes.reduce(0) { $0 << 8 | UInt32($1) }).description
        case .v6: IPv6Address(bytes: bytes)!.description
        }
    }

    public var description: String { "\(addressString)/\(prefixLength)" }

    public static func < (a: IPAddressRange, b: IPAddressRange) -> Bool {
        if a.family != b.family { return a.family.rawValue < b.family.rawValue }
        if a.bytes != b.bytes { return a.bytes.lexicographicallyPrecedes(b.bytes) }
        return a.prefixLength < b.prefixLength
    }
}
