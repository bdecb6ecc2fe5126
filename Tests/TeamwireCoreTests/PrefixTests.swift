import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

@Suite("IPv4 prefixes")
struct PrefixTests {
    @Test("valid prefixes", arguments: [
        ("100.80.0.0/24", "100.80.0.0", 24, "100.80.0.255", UInt64(256)),
        ("0.0.0.0/0", "0.0.0.0", 0, "255.255.255.255", UInt64(1) << 32),
        ("10.0.0.0/8", "10.0.0.0", 8, "10.255.255.255", UInt64(1) << 24),
        ("100.64.0.0/10", "100.64.0.0", 10, "100.127.255.255", UInt64(1) << 22),
        ("192.168.1.4/30", "192.168.1.4", 30, "192.168.1.7", UInt64(4)),
        ("192.168.1.4/31", "192.168.1.4", 31, "192.168.1.5", UInt64(2)),
        ("192.168.1.7/32", "192.168.1.7", 32, "192.168.1.7", UInt64(1)),
        ("255.255.255.255/32", "255.255.255.255", 32, "255.255.255.255", UInt64(1)),
        ("10.0.0.0/7", "10.0.0.0", 7, "11.255.255.255", UInt64(1) << 25),
        ("128.0.0.0/1", "128.0.0.0", 1, "255.255.255.255", UInt64(1) << 31),
    ])
    func valid(text: String, network: String, length: Int, last: String, size: UInt64) throws {
        let p = try #require(IPv4Prefix(text))
        #expect(p.address == ip(network))
        #expect(p.first == ip(network))
        #expect(p.length == length)
        #expect(p.last == ip(last))
        #expect(p.size == size)
        #expect(p.description == text)
        #expect(UInt64(p.last.value - p.first.value) + 1 == size)
        #expect(IPv4Prefix(address: ip(network), length: length) == p)
    }

    @Test("malformed or non-network prefixes are refused", arguments: [
        "", "/", "100.80.0.0", "100.80.0.0/", "/24", "100.80.0.1/24", "100.80.0.128/24", "100.80.0.0/33",
        "100.80.0.0/-1", "100.80.0.0/+8", "100.80.0.0/024", "100.80.0.0/08", "100.80.0.0/100", "100.80.0.0/2 4",
        " 100.80.0.0/24", "100.80.0.0/24 ", "100.80.0.0/24/24", "100.80.00.0/24", "100.80.0/24",
        "11.0.0.0/7", "1.0.0.0/0", "0.0.0.1/31", "100.80.0.0/a", "100.80.0.0/２４",
    ])
    func invalid(text: String) {
        #expect(IPv4Prefix(text) == nil)
    }

    @Test("the address form refuses host bits and lengths outside 0...32")
    func addressInit() {
        #expect(IPv4Prefix(address: ip("10.0.0.0"), length: -1) == nil)
        #expect(IPv4Prefix(address: ip("10.0.0.0"), length: 33) == nil)
        #expect(IPv4Prefix(address: ip("10.0.0.1"), length: 31) == nil)
        #expect(IPv4Prefix(address: ip("10.0.0.1"), length: 32) != nil)
        #expect(IPv4Prefix(address: ip("0.0.0.0"), length: 0) != nil)
        #expect(IPv4Prefix(address: ip("128.0.0.0"), length: 0) == nil)
    }

    @Test("masks for every length")
    func masks() throws {
        for l in 0...32 {
            let p = try #require(IPv4Prefix(address: IPv4Address(0), length: l))
            #expect(p.mask.nonzeroBitCount == l)
            #expect(p.mask.leadingZeroBitCount == (l == 0 ? 32 : 0))
            #expect(p.mask.trailingZeroBitCount == 32 - l)
            #expect(p.size == UInt64(1) << UInt64(32 - l))
        }
    }

    @Test("contains: exactly the addresses from first to last")
    func contains() {
        let p = prefix("100.80.4.0/22")
        #expect(p.contains(ip("100.80.4.0")))
        #expect(p.contains(ip("100.80.5.17")))
        #expect(p.contains(ip("100.80.7.255")))
        #expect(!p.contains(ip("100.80.3.255")))
        #expect(!p.contains(ip("100.80.8.0")))
        #expect(prefix("0.0.0.0/0").contains(ip("255.255.255.255")))
        #expect(prefix("0.0.0.0/0").contains(ip("0.0.0.0")))
        #expect(IPv4Prefix.host(ip("1.2.3.4")).contains(ip("1.2.3.4")))
        #expect(!IPv4Prefix.host(ip("1.2.3.4")).contains(ip("1.2.3.5")))
        #expect(IPv4Prefix.host(ip("1.2.3.4")).description == "1.2.3.4/32")

        var rng = SeededRNG(seed: 22)
        for _ in 0..<500 {
            let l = Int.random(in: 0...32, using: &rng)
            let net = UInt32.random(in: 0...UInt32.max, using: &rng) & IPv4Prefix.mask(l)
            let p = IPv4Prefix(address: IPv4Address(net), length: l)!
            let a = IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng))
            #expect(p.contains(a) == (a >= p.first && a <= p.last))
        }
    }

    @Test("overlap and cover against a brute-force model")
    func overlapModel() {
        var rng = SeededRNG(seed: 23)
        func randomPrefix() -> IPv4Prefix {
            // Short lengths inside a /20 so that overlaps are common.
            let l = Int.random(in: 20...32, using: &rng)
            let net = (0x6450_0000 | UInt32.random(in: 0...0xfff, using: &rng)) & IPv4Prefix.mask(l)
            return IPv4Prefix(address: IPv4Address(net), length: l)!
        }
        var overlaps = 0
        for _ in 0..<2000 {
            let a = randomPrefix(), b = randomPrefix()
            let intersect = a.first <= b.last && b.first <= a.last
            #expect(a.overlaps(b) == intersect, "\(a) \(b)")
            #expect(b.overlaps(a) == intersect)
            let covers = b.first >= a.first && b.last <= a.last
            #expect(a.covers(b) == covers, "\(a) \(b)")
            if intersect { overlaps += 1 }
        }
        #expect(overlaps > 100)
    }

    @Test("overlap examples")
    func overlapExamples() {
        #expect(prefix("10.0.0.0/8").overlaps(prefix("10.1.0.0/16")))
        #expect(prefix("10.1.0.0/16").overlaps(prefix("10.0.0.0/8")))
        #expect(!prefix("10.0.0.0/24").overlaps(prefix("10.0.1.0/24")))
        #expect(prefix("0.0.0.0/0").overlaps(prefix("192.0.2.0/24")))
        #expect(prefix("10.0.0.0/8").covers(prefix("10.1.0.0/16")))
        #expect(!prefix("10.1.0.0/16").covers(prefix("10.0.0.0/8")))
        #expect(prefix("10.0.0.0/8").covers(prefix("10.0.0.0/8")))
    }

    @Test("JSON form is the text form")
    func codable() throws {
        let p = prefix("100.80.0.0/24")
        let data = Data(ControlCodec.encodeJSON([p]))
        #expect(String(decoding: data, as: UTF8.self) == "[\"100.80.0.0/24\"]")
        #expect(try JSONDecoder().decode([IPv4Prefix].self, from: data) == [p])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPv4Prefix].self, from: Data("[\"100.80.0.1/24\"]".utf8)) }
    }
}
