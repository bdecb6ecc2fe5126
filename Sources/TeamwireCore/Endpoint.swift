/// A UDP or TCP endpoint: `1.2.3.4:51820`, `[2001:db8::1]:51820` or `host.example:7946`.
public struct Endpoint: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public enum Host: Hashable, Sendable {
        case ipv4(IPv4Address)
        case ipv6(IPv6Address)
        case name(String)
    }

    public let host: Host
    public let port: UInt16

    public init(host: Host, port: UInt16) {
        self.host = host
        self.port = port
    }

    public init?(_ text: String) {
        guard text.utf8.count <= 300 else { return nil }
        let hostPart: Substring, portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            hostPart = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            guard after.hasPrefix(":") else { return nil }
            portPart = after.dropFirst()
            guard let v6 = IPv6Address(String(hostPart)) else { return nil }
            guard let port = Endpoint.parsePort(portPart) else { return nil }
            self.init(host: .ipv6(v6), port: port)
            return
        }
        guard let colon = text.lastIndex(of: ":") else { return nil }
        hostPart = text[..<colon]
        portPart = text[text.index(after: colon)...]
        guard let port = Endpoint.parsePort(portPart) else { return nil }
        if let v4 = IPv4Address(String(hostPart)) {
            self.init(host: .ipv4(v4), port: port)
        } else if Names.isValidHostname(String(hostPart)), !hostPart.allSatisfy({ $0.isNumber || $0 == "." }) {
            self.init(host: .name(String(hostPart).lowercased()), port: port)
        } else {
            return nil
        }
    }

    private static func parsePort(_ s: Substring) -> UInt16? {
        guard !s.isEmpty, s.count <= 5, s.allSatisfy({ $0.isASCII && $0.isNumber }),
              !(s.count > 1 && s.first == "0"), let p = UInt16(s), p != 0 else { return nil }
        return p
    }

    public var hostString: String {
        switch host {
        case .ipv4(let a): a.description
        case .ipv6(let a): a.description
        case .name(let n): n
        }
    }

    public var description: String {
        if case .ipv6 = host { return "[\(hostString)]:\(port)" }
        return "\(hostString):\(port)"
    }
}

extension Endpoint: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let e = Endpoint(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid endpoint \"\(s.prefix(64))\" (expected HOST:PORT)"))
        }
        self = e
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
