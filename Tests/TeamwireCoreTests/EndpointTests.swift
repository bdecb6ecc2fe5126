import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Endpoints")
struct EndpointTests {
    @Test("IPv4 endpoints")
    func ipv4() throws {
        let e = try #require(Endpoint("1.2.3.4:51820"))
        #expect(e.host == .ipv4(ip("1.2.3.4")))
        #expect(e.port == 51820)
        #expect(e.hostString == "1.2.3.4")
        #expect(e.description == "1.2.3.4:51820")
        #expect(Endpoint("0.0.0.0:1")?.port == 1)
        #expect(Endpoint("255.255.255.255:65535")?.port == 65535)
    }

    @Test("bracketed IPv6 endpoints print canonically")
    func ipv6() throws {
        let e = try #require(Endpoint("[2001:DB8:0:0::1]:51820"))
        #expect(e.host == .ipv6(IPv6Address("2001:db8::1")!))
        #expect(e.port == 51820)
        #expect(e.hostString == "2001:db8::1")
        #expect(e.description == "[2001:db8::1]:51820")
        #expect(Endpoint("[::]:7")?.description == "[::]:7")
        #expect(Endpoint("[::ffff:1.2.3.4]:9")?.host == .ipv6(IPv6Address("::ffff:102:304")!))
    }

    @Test("host names are lowercased")
    func names() throws {
        let e = try #require(Endpoint("Coord.Example.COM:7946"))
        #expect(e.host == .name("coord.example.com"))
        #expect(e.description == "coord.example.com:7946")
        #expect(Endpoint("localhost:80")?.host == .name("localhost"))
        #expect(Endpoint("1e100.net:443")?.host == .name("1e100.net"))
        #expect(Endpoint("a-b.c-d:1")?.host == .name("a-b.c-d"))
        let long = String(repeating: "a", count: 63)
        #expect(Endpoint("\(long).\(long):1") != nil)
    }

    @Test("malformed endpoints are refused", arguments: [
        "", ":", "1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999", "1.2.3.4:123456", "1.2.3.4:080",
        "1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4: 80", "1.2.3.4:80 ", " 1.2.3.4:80", "1.2.3.4:8a", "1.2.3.4:８０",
        "1.2.3.256:80", "01.2.3.4:80", "1.2.3:80",  // all-numeric, not an IPv4 address: not a host name either
        "123:80", "1.2.3.4.5:80",
        ":80", "[::1]", "[::1]:", "[::1]:0", "[::1]:65536", "[::1]80", "[::1]x:80", "[::1:80", "::1:80", "2001:db8::1:80",
        "[1.2.3.4]:80", "[fe80::1%eth0]:80", "[host]:80", "[]:80", "[::1]:80]",
        "-host:80", "host-:80", "ho_st:80", "host..example:80", ".host:80", "host.:80", "hö st:80", "höst:80",
        "host:80:80",
    ])
    func invalid(text: String) {
        #expect(Endpoint(text) == nil)
    }

    @Test("overlong input is refused")
    func overlong() {
        let label = String(repeating: "a", count: 63)
        let tooLongName = [label, label, label, label].joined(separator: ".")  // 255 > 253
        #expect(Endpoint("\(tooLongName):1") == nil)
        #expect(Endpoint(String(repeating: "a", count: 64) + ":1") == nil)
        #expect(Endpoint(String(repeating: "1", count: 400)) == nil)
    }

    @Test("ports: every boundary")
    func ports() {
        #expect(Endpoint("h:1")?.port == 1)
        #expect(Endpoint("h:9")?.port == 9)
        #expect(Endpoint("h:10")?.port == 10)
        #expect(Endpoint("h:65535")?.port == 65535)
        #expect(Endpoint("h:00") == nil)
        #expect(Endpoint("h:0") == nil)
        #expect(Endpoint("h:65536") == nil)
    }

    @Test("description round-trips for random endpoints")
    func roundTrip() throws {
        var rng = SeededRNG(seed: 77)
        for _ in 0..<300 {
            let port = UInt16.random(in: 1...UInt16.max, using: &rng)
            let host: Endpoint.Host
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: host = .ipv4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng)))
            case 1:
                var b = rng.bytes(16)
                for i in 0..<16 where Bool.random(using: &rng) { b[i] = 0 }
                host = .ipv6(IPv6Address(bytes: b)!)
            default:
                let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
                let labels = (0..<Int.random(in: 1...3, using: &rng)).map { _ in
                    String((0..<Int.random(in: 1...10, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
                }
                host = .name(labels.joined(separator: ".") + ".x")
            }
            let e = Endpoint(host: host, port: port)
            let parsed = try #require(Endpoint(e.description), "\(e.description)")
            #expect(parsed == e)
            #expect(parsed.description == e.description)
        }
    }

    @Test("JSON form is the text form")
    func codable() throws {
        let es = [endpoint("1.2.3.4:5"), endpoint("[::1]:6"), endpoint("h.example:7")]
        let data = Data(ControlCodec.encodeJSON(es))
        #expect(String(decoding: data, as: UTF8.self) == "[\"1.2.3.4:5\",\"[::1]:6\",\"h.example:7\"]")
        #expect(try JSONDecoder().decode([Endpoint].self, from: data) == es)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Endpoint].self, from: Data("[\"1.2.3.4\"]".utf8)) }
    }

    @Test("endpoint candidates: observed first, without duplicates")
    func candidates() throws {
        let k = fixedKey(1)
        var m = Member(name: "a", publicKey: k, address: ip("100.80.0.2"), role: .robot,
                       endpoints: [endpoint("10.0.0.1:51820"), endpoint("1.2.3.4:51820"), endpoint("10.0.0.1:51820")],
                       observedEndpoint: endpoint("1.2.3.4:51820"))
        #expect(m.endpointCandidates == [endpoint("1.2.3.4:51820"), endpoint("10.0.0.1:51820")])
        m.observedEndpoint = nil
        #expect(m.endpointCandidates == [endpoint("10.0.0.1:51820"), endpoint("1.2.3.4:51820")])
        m.endpoints = []
        #expect(m.endpointCandidates.isEmpty)
    }
}
