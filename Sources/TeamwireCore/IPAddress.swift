/// Strict IPv4 and IPv6 address types: no leading zeros, no shorthand forms, nothing malformed.

public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible, LosslessStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    /// Dotted quad only: four decimal parts 0-255, no leading zeros, no spaces.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        self.value = v
    }

    public var octets: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)] }
    public var description: String { octets.map(String.init).joined(separator: ".") }
    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }
}

extension IPv4Address: Codable {
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let a = IPv4Address(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid IPv4 address \"\(s.prefix(64))\""))
        }
        self = a
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]  // 16

    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// RFC 4291 text forms, including one "::" and a trailing dotted quad; no zone ids.
    public init?(_ text: String) {
        guard !text.isEmpty, text.count <= 45, !text.contains("%") else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        let halves = text.components(separatedByString: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String, allowV4: Bool) -> [UInt16]? {
            if s.isEmpty { return [] }
            let parts = s.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            var out: [UInt16] = []
            for (i, p) in parts.enumerated() {
                if allowV4, i == parts.count - 1, p.contains(".") {
                    guard let v4 = IPv4Address(p) else { return nil }
                    out.append(UInt16(v4.value >> 16)); out.append(UInt16(v4.value & 0xffff))
                } else {
                    guard (1...4).contains(p.count), let g = UInt16(p, radix: 16), p.allSatisfy(\.isHexDigit) else { return nil }
                    out.append(g)
                }
            }
            return out
        }
        if halves.count == 2 {
            guard let h = groups(halves[0], allowV4: false), let t = groups(halves[1], allowV4: true) else { return nil }
            guard h.count + t.count <= 7 else { return nil }
            head = h; tail = t
        } else {
            guard let h = groups(halves[0], allowV4: true), h.count == 8 else { return nil }
            head = h
        }
        let all = head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        self.bytes = all.flatMap { [UInt8($0 >> 8), UInt8($0 & 255)] }
    }

    /// RFC 5952 canonical form.
    public var description: String {
        let g = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8, g[j] == 0 { j += 1 }
                if j - i > bestLen, j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        func hex(_ r: Range<Int>) -> String { r.map { String(g[$0], radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
    }
}

extension String {
    /// Split on a multi-character separator without Foundation.
    func components(separatedByString sep: String) -> [String] {
        var out: [String] = []
        var rest = Substring(self)
        while let r = rest.range(of: sep) {
            out.append(String(rest[rest.startIndex..<r.lowerBound]))
            rest = rest[r.upperBound...]
        }
        out.append(String(rest))
        return out
    }
}

extension Substring {
    func range(of sep: String) -> Range<Substring.Index>? {
        guard !sep.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(sep) { return i..<index(i, offsetBy: sep.count) }
            i = index(after: i)
        }
        return nil
    }
}
