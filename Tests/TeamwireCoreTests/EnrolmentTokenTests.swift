import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Enrolment tokens")
struct EnrolmentTokenTests {
    static let id = TokenID("0123456789abcdef")!
    static let secret: [UInt8] = (0..<32).map { UInt8($0 * 7 & 255) }
    static let key = try! PublicKey(hexKey: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    static let endpoints = [endpoint("203.0.113.7:7946"), endpoint("[2001:db8::7]:7946"), endpoint("coord.example.org:443")]

    static func sample(team: String = "lab", endpoints: [Endpoint] = endpoints) -> EnrolmentToken {
        EnrolmentToken(id: id, secret: secret, coordinatorKey: key, team: team, endpoints: endpoints)
    }

    /// The documented layout, built independently of `EnrolmentToken.text`.
    static func body(version: UInt8 = 1, id: [UInt8] = id.bytes, secret: [UInt8] = secret, key: [UInt8] = key.rawValue,
                     team: [UInt8] = Array("lab".utf8), teamLen: Int? = nil,
                     endpoints: [[UInt8]] = endpoints.map { Array($0.description.utf8) }, endpointCount: Int? = nil) -> [UInt8] {
        var b: [UInt8] = [version] + id + secret + key
        b.append(UInt8(teamLen ?? team.count)); b += team
        b.append(UInt8(endpointCount ?? endpoints.count))
        for e in endpoints { b.append(UInt8(e.count)); b += e }
        return b
    }

    static func text(_ body: [UInt8], checksum: Bool = true) -> String {
        EnrolmentToken.prefix + Base64.encode(body + (checksum ? Array(Sodium.hash(body).prefix(4)) : []), url: true)
    }

    static func parse(_ s: String) -> Result<EnrolmentToken, APIError> { outcome { () throws(APIError) in try EnrolmentToken(parsing: s) } }

    static func refusalMessage(_ s: String) -> String? {
        switch parse(s) {
        case .success: return nil
        case .failure(let e):
            #expect(e.code == .malformedToken)
            #expect(e.message.hasPrefix("this is not a valid teamwire token: "))
            return e.message
        }
    }

    @Test("text follows the documented layout and round-trips")
    func roundTrip() throws {
        let t = Self.sample()
        let text = t.text
        #expect(text == Self.text(Self.body()))
        #expect(text.hasPrefix("twt1-"))
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        let parsed = try EnrolmentToken(parsing: text)
        #expect(parsed == t)
        #expect(parsed.id == Self.id)
        #expect(parsed.secret == Self.secret)
        #expect(parsed.coordinatorKey == Self.key)
        #expect(parsed.team == "lab")
        #expect(parsed.endpoints == Self.endpoints)
    }

    @Test("endpoints that cannot fit a token's one-byte lengths are named before any token is made")
    func endpointLimits() throws {
        // The longest host name (253 bytes) fits with a one-digit port, not with a longer one.
        let host = Array(repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "." + String(repeating: "b", count: 61)
        let longest = try #require(Endpoint(host + ":1"))
        #expect(longest.description.utf8.count == 255)
        #expect(EnrolmentToken.problem(with: [longest]) == nil)
        let t = Self.sample(endpoints: [longest])
        #expect(try EnrolmentToken(parsing: t.text).endpoints == [longest])
        let over = try #require(Endpoint(host + ":7946"))
        #expect(EnrolmentToken.problem(with: [over]) == "a public endpoint must be at most 255 bytes (got 258)")
        let many = (1...17).map { Endpoint("192.0.2.\($0):7946")! }
        #expect(EnrolmentToken.problem(with: many)?.contains("at most 16") == true)
        #expect(EnrolmentToken.problem(with: Array(many.prefix(16))) == nil)
    }

    @Test("random tokens round-trip")
    func randomRoundTrip() throws {
        var rng = SeededRNG(seed: 0x7e7)
        for i in 0..<100 {
            let n = Int.random(in: 1...5, using: &rng)
            let eps = (0..<n).map { j in Endpoint(host: .ipv4(IPv4Address(UInt32.random(in: 0...UInt32.max, using: &rng))), port: UInt16(1 + j)) }
            let team = String(repeating: "t", count: Int.random(in: 1...63, using: &rng))
            let t = EnrolmentToken(id: TokenID.random(), secret: Sodium.randomBytes(32), coordinatorKey: PrivateKey.generate().publicKey,
                                    team: team, endpoints: eps)
            let parsed = try EnrolmentToken(parsing: t.text)
            #expect(parsed == t, "token \(i)")
        }
    }

    @Test("surrounding whitespace from copy and paste is ignored")
    func whitespace() throws {
        let text = Self.sample().text
        #expect(try EnrolmentToken(parsing: "  \(text)\n") == Self.sample())
        #expect(try EnrolmentToken(parsing: "\t\(text)\r\n") == Self.sample())
        #expect(Self.refusalMessage(String(text.prefix(20)) + " " + String(text.dropFirst(20))) != nil)
    }

    @Test("equality compares every field")
    func equality() {
        let t = Self.sample()
        var u = t
        u.secret[31] ^= 1
        #expect(t != u)
        u = t; u.team = "other"
        #expect(t != u)
        u = t; u.endpoints = [Self.endpoints[0]]
        #expect(t != u)
        u = t; u.id = TokenID("fedcba9876543210")!
        #expect(t != u)
        u = t; u.coordinatorKey = fixedKey(3)
        #expect(t != u)
        #expect(t == Self.sample())
    }

    @Test("each kind of damage is refused with its own message")
    func distinctRefusals() throws {
        let good = Self.body()
        var flipped = Array(Self.sample().text.utf8)
        // Flip a bit of a character in the middle: still base64url, different bytes.
        let mid = flipped.count / 2
        flipped[mid] = flipped[mid] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        var extra = good
        extra.insert(0, at: good.count)

        let cases: [(String, String)] = [
            ("wrong prefix", "abc-" + String(Self.sample().text.dropFirst(5))),
            ("other version prefix", "twt2-" + String(Self.sample().text.dropFirst(5))),
            ("bad base64url", Self.text(good) + "!"),
            ("padding", Self.text(Array(good.dropLast())) + "="),
            ("too short", Self.text([1, 2, 3, 4, 5, 6, 7, 8])),
            ("checksum", String(decoding: flipped, as: UTF8.self)),
            ("version byte", Self.text(Self.body(version: 2))),
            ("truncated inside", Self.text(Self.body(endpointCount: 4))),
            ("team name", Self.text(Self.body(team: Array("Lab".utf8)))),
            ("no endpoint", Self.text(Self.body(endpoints: []))),
            ("bad endpoint", Self.text(Self.body(endpoints: [Array("nope".utf8)]))),
            ("trailing bytes", Self.text(extra)),
        ]
        var messages: [String: String] = [:]
        for (name, text) in cases {
            let m = try #require(Self.refusalMessage(text), "\(name) was accepted")
            messages[name] = m
        }
        // Bad base64url and stray padding are the same refusal; every other case is distinct.
        #expect(messages["bad base64url"] == messages["padding"])
        var distinct = messages
        distinct["padding"] = nil
        #expect(Set(distinct.values).count == distinct.count, "\(messages)")

        #expect(messages["wrong prefix"]!.contains("should start with twt1-"))
        #expect(messages["other version prefix"]!.contains("unsupported token version (this teamwire reads twt1- tokens)"))
        #expect(messages["bad base64url"]!.contains("outside base64url"))
        #expect(messages["too short"]!.contains("too short"))
        #expect(messages["checksum"]!.contains("checksum"))
        #expect(messages["version byte"]!.contains("unsupported token version 2"))
        #expect(messages["truncated inside"]!.contains("truncated"))
        #expect(messages["team name"]!.contains("team name"))
        #expect(messages["no endpoint"]!.contains("no coordinator endpoint"))
        #expect(messages["bad endpoint"]!.contains("endpoint inside is invalid"))
        #expect(messages["trailing bytes"]!.contains("trailing bytes"))
    }

    @Test("a crafted token with more endpoints than a token holds is refused, not trapped on (issue 15)")
    func tooManyEndpoints() throws {
        let e = (0..<17).map { Array("192.0.2.\($0 + 1):7946".utf8) }
        let message = try #require(Self.refusalMessage(Self.text(Self.body(endpoints: e))))
        #expect(message.contains("17 coordinator endpoints (at most 16)"))
        let sixteen = try EnrolmentToken(parsing: Self.text(Self.body(endpoints: Array(e.prefix(16)))))
        #expect(sixteen.endpoints.count == 16)
        // The largest count byte, with no endpoints behind it.
        #expect(Self.refusalMessage(Self.text(Self.body(endpoints: [], endpointCount: 255))) != nil)
    }

    @Test("a crafted token's endpoint ports of any size are refused, not trapped on (issue 15)")
    func extremePorts() throws {
        for port in ["0", "65536", "-1", "-0", "99999", "99999999999999999999", "18446744073709551616", "9223372036854775807", "1e3", "+1", "00001", "1.5", ""] {
            let text = Self.text(Self.body(endpoints: [Array("192.0.2.1:\(port)".utf8)]))
            #expect(Self.refusalMessage(text)?.contains("endpoint inside is invalid") == true, "port '\(port)'")
        }
        #expect(try EnrolmentToken(parsing: Self.text(Self.body(endpoints: [Array("192.0.2.1:65535".utf8)]))).endpoints.first?.port == 65535)
        // Length bytes at their largest, with nothing behind them.
        #expect(Self.refusalMessage(Self.text(Self.body(teamLen: 255)))?.contains("truncated") == true)
        #expect(Self.refusalMessage(Self.text(Self.body(endpoints: [], endpointCount: 1) + [255]))?.contains("truncated") == true)
    }

    @Test("every single-bit flip of the token's bytes is caught by the checksum")
    func everyBitFlip() throws {
        let good = Self.body()
        let sealed = good + Sodium.hash(good).prefix(4)
        for i in sealed.indices {
            for bit in 0..<8 {
                var b = sealed
                b[i] ^= 1 << UInt8(bit)
                let m = try #require(Self.refusalMessage(EnrolmentToken.prefix + Base64.encode(b, url: true)), "flip \(i).\(bit) accepted")
                #expect(m.contains("checksum does not match"), "flip \(i).\(bit): \(m)")
            }
        }
    }

    @Test("every truncation of the text is refused")
    func everyTruncation() {
        let text = Self.sample().text
        for n in 0..<text.count {
            #expect(Self.refusalMessage(String(text.prefix(n))) != nil, "prefix of \(n) characters accepted")
        }
    }

    @Test("every single-character substitution of the text is refused")
    func everySubstitution() {
        let text = Array(Self.sample().text.utf8)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var rng = SeededRNG(seed: 9)
        for i in EnrolmentToken.prefix.utf8.count..<text.count {
            for _ in 0..<4 {
                var t = text
                t[i] = alphabet.filter { $0 != text[i] }.randomElement(using: &rng)!
                #expect(Self.refusalMessage(String(decoding: t, as: UTF8.self)) != nil, "substitution at \(i) accepted")
            }
        }
    }

    @Test("overlong input is refused before decoding")
    func overlong() {
        let m = Self.refusalMessage(EnrolmentToken.prefix + String(repeating: "A", count: 4096))
        #expect(m?.contains("outside base64url or is cut short") == true)
    }

    @Test("a token with a checksum over garbage of the right size is not accepted as valid")
    func garbage() {
        var rng = SeededRNG(seed: 10)
        for _ in 0..<200 {
            var b = rng.bytes(Int.random(in: 79...140, using: &rng))
            b[0] = 1
            #expect(Self.refusalMessage(Self.text(b)) != nil)
        }
    }
}

@Suite("Token ids")
struct TokenIDTests {
    @Test("hex text form")
    func hex() throws {
        let id = try #require(TokenID("0123456789ABCDEF"))
        #expect(id.bytes == [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
        #expect(id.description == "0123456789abcdef")
        #expect(TokenID("0123456789abcdef") == id)
    }

    @Test("malformed ids are refused", arguments: ["", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg", " 123456789abcdef", "0123456789abcdef00"])
    func invalid(text: String) {
        #expect(TokenID(text) == nil)
    }

    @Test("random ids are 8 bytes and differ")
    func random() {
        let ids = (0..<50).map { _ in TokenID.random() }
        #expect(ids.allSatisfy { $0.bytes.count == 8 && $0.description.utf8.count == 16 })
        #expect(Set(ids).count == 50)
    }

    @Test("JSON form is the hex string")
    func codable() throws {
        let id = TokenID("0123456789abcdef")!
        let data = Data(ControlCodec.encodeJSON([id]))
        #expect(String(decoding: data, as: UTF8.self) == "[\"0123456789abcdef\"]")
        #expect(try JSONDecoder().decode([TokenID].self, from: data) == [id])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([TokenID].self, from: Data("[\"0123\"]".utf8)) }
    }
}
