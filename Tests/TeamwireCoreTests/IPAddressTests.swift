import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import TeamwireCore
import TestSupport

/// libc's parser, as an independent oracle.
func libcParse4(_ s: String) -> UInt32? {
    var a = in_addr()
    guard inet_pton(AF_INET, s, &a) == 1 else { return nil }
    return UInt32(bigEndian: a.s_addr)
}

func libcParse6(_ s: String) -> [UInt8]? {
    var a = in6_addr()
    guard inet_pton(AF_INET6, s, &a) == 1 else { return nil }
    return withUnsafeBytes(of: &a) { Array($0) }
}

@Suite("IPv4 addresses")
struct IPv4AddressTests {
    @Test("valid dotted quads", arguments: [
        ("0.0.0.0", UInt32(0)), ("255.255.255.255", UInt32.max), ("1.2.3.4", 0x0102_0304),
        ("100.64.0.1", 0x6440_0001), ("10.0.0.10", 0x0a00_000a), ("192.168.100.200", 0xc0a8_64c8),
    ])
    func valid(text: String, value: UInt32) throws {
        let a = try #require(IPv4Address(text))
        #expect(a.value == value)
        #expect(a.description == text)
        #expect(a == IPv4Address(value))
        #expect(a.octets == [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)])
    }

    @Test("malformed dotted quads are refused", arguments: [
        "", ".", "...", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04", "1.2.3.00", "00.0.0.0", "1.2.3.256", "256.0.0.0",
        "1.2.3.1000", "1.2.3.-1", "1.2.3.+1", " 1.2.3.4", "1.2.3.4 ", "1. 2.3.4", "1..3.4", ".1.2.3", "1.2.3.",
        "1.2.3.4/24", "1.2.3.4:80", "0x1.2.3.4", "1.2.3.a", "4294967295", "١.2.3.4", "1.2.3.４", "1.2.3.4.",
        "999.999.999.999",
    ])
    func invalid(text: String) {
        #expect(IPv4Address(text) == nil)
    }

    @Test("random addresses round-trip through text and agree with inet_pton")
    func roundTrip() {
        var rng = SeededRNG(seed: 4)
        for _ in 0..<500 {
            let v = UInt32.random(in: 0...UInt32.max, using: &rng)
            let a = IPv4Address(v)
            #expect(IPv4Address(a.description) == a)
            #expect(libcParse4(a.description) == v)
        }
    }

    @Test("fuzzed strings: accepted exactly when inet_pton accepts them, with the same value")
    func fuzzAgainstLibc() {
        var rng = SeededRNG(seed: 44)
        let alphabet = Array("0123456789.....")
        var accepted = 0
        for _ in 0..<20000 {
            let n = Int.random(in: 1...15, using: &rng)
            let s = String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            let ours = IPv4Address(s)?.value
            #expect(ours == libcParse4(s), "\(s)")
            if ours != nil { accepted += 1 }
        }
        #expect(accepted > 30, "the fuzzer should produce some valid addresses")
    }

    @Test("ordering follows the numeric value")
    func ordering() {
        #expect(ip("9.255.255.255") < ip("10.0.0.0"))
        #expect(ip("10.0.0.2") < ip("10.0.0.10"))
        #expect(!(ip("10.0.0.10") < ip("10.0.0.10")))
        #expect([ip("10.0.0.10"), ip("10.0.0.2"), ip("1.0.0.0")].sorted() == [ip("1.0.0.0"), ip("10.0.0.2"), ip("10.0.0.10")])
    }

    @Test("JSON form is the dotted quad; malformed strings are decoding errors")
    func codable() throws {
        let data = Data(ControlCodec.encodeJSON([ip("100.80.0.1")]))
        #expect(String(decoding: data, as: UTF8.self) == "[\"100.80.0.1\"]")
        #expect(try JSONDecoder().decode([IPv4Address].self, from: data) == [ip("100.80.0.1")])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPv4Address].self, from: Data("[\"100.80.0.01\"]".utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPv4Address].self, from: Data("[1684013057]".utf8)) }
    }
}

@Suite("IPv6 addresses")
struct IPv6AddressTests {
    @Test("valid forms parse to the right bytes and print in RFC 5952 form", arguments: [
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:DB8::A", "2001:db8::a"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),  // the longest run is compressed
        ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),  // ties: the first run
        ("1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"),  // a single zero group is not compressed
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("fe80::1:0:0:0", "fe80::1:0:0:0"),  // two runs of three: the first
        ("fe80::1:0:0:0:0", "fe80:0:0:1::"),  // the longer, later run
        ("::ffff:1.2.3.4", "::ffff:102:304"),
        ("::1.2.3.4", "::102:304"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ])
    func valid(text: String, canonical: String) throws {
        let a = try #require(IPv6Address(text))
        #expect(a.bytes.count == 16)
        #expect(a.description == canonical)
        #expect(a.bytes == libcParse6(text))
        #expect(IPv6Address(canonical) == a)
    }

    @Test("malformed forms are refused", arguments: [
        "", ":", ":::", "1:::2", "1::2::3", "::1::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8", "1:2:3:4::5:6:7:8", "12345::", "g::", "::g", "::1%eth0", "fe80::1%1", ":1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:", "1.2.3.4", "1.2.3.4::", "1.2.3.4::1", "::1.2.3", "::1.2.3.04", "::1.2.3.4:5", "::1.2.3.4.5",
        " ::1", "::1 ", "::+1", "::-1", "[::1]", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:256.1.1.1", "０::", "::0x1",
        "1:2:3:4:5:6:7:8:1.2.3.4", "00000::", "0:0:0:0:0:0:0:0:0", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255:0",
    ])
    func invalid(text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test("byte initialiser needs exactly 16 bytes")
    func bytesInit() {
        #expect(IPv6Address(bytes: []) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 17)) == nil)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 16))?.description == "::")
    }

    @Test("random addresses (with zero runs) round-trip through their canonical text")
    func roundTrip() throws {
        var rng = SeededRNG(seed: 6)
        for _ in 0..<1000 {
            // Mostly zero groups so that runs of every length and position occur.
            var bytes: [UInt8] = []
            for _ in 0..<8 {
                if Bool.random(using: &rng) { bytes += [0, 0] } else {
                    let g = UInt16.random(in: 0...UInt16.max, using: &rng) >> UInt16.random(in: 0...15, using: &rng)
                    bytes += [UInt8(g >> 8), UInt8(g & 255)]
                }
            }
            let a = try #require(IPv6Address(bytes: bytes))
            let text = a.description
            #expect(IPv6Address(text) == a, "\(text)")
            #expect(libcParse6(text) == bytes, "\(text)")
            #expect(!text.contains(":::"))
            #expect(text.components(separatedBy: "::").count <= 2)
            #expect(text == text.lowercased())
            // Canonical: no group has a leading zero.
            for g in text.split(separator: ":") { #expect(g == "0" || !g.hasPrefix("0"), "\(text)") }
        }
    }

    @Test("fuzzed strings are accepted exactly when inet_pton accepts them, with the same bytes")
    func fuzzAgainstLibc() {
        var rng = SeededRNG(seed: 66)
        let alphabet = Array("0123456789abcdef::::::..")
        var accepted = 0
        for _ in 0..<20000 {
            let n = Int.random(in: 1...20, using: &rng)
            let s = String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            let ours = IPv6Address(s)
            #expect(ours?.bytes == libcParse6(s), "\(s)")
            if ours != nil { accepted += 1 }
        }
        #expect(accepted > 50, "the fuzzer should produce some valid addresses")
    }
}
