import Foundation
import Testing
@testable import TeamwireCore

@Suite("Keys")
struct KeysTests {
    // RFC 7748 section 6.1 (X25519 Diffie-Hellman test vectors).
    static let alicePrivateHex = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    static let alicePublicHex = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    static let bobPrivateHex = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    static let bobPublicHex = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"

    @Test("public key derivation matches the RFC 7748 X25519 vectors")
    func rfc7748PublicKeys() throws {
        let alice = try PrivateKey(hexKey: Self.alicePrivateHex)
        #expect(alice.publicKey.hexKey == Self.alicePublicHex)
        #expect(alice.publicKey.base64Key == "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=")
        let bob = try PrivateKey(hexKey: Self.bobPrivateHex)
        #expect(bob.publicKey.hexKey == Self.bobPublicHex)
    }

    @Test("clamping the RFC 7748 private key (as wg/libsodium do) does not change its public key")
    func clampedVectorSameKey() throws {
        var raw = hexBytes(Self.alicePrivateHex)
        raw[0] &= 248
        raw[31] = (raw[31] & 127) | 64
        #expect(raw != hexBytes(Self.alicePrivateHex), "the vector is not already clamped")
        let clamped = try PrivateKey(rawValue: raw)
        #expect(clamped.publicKey.hexKey == Self.alicePublicHex)
    }

    @Test("private keys parse from the base64 that wg prints")
    func privateBase64Vector() throws {
        let alice = try PrivateKey(base64Key: "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
        #expect(alice.hexKey == Self.alicePrivateHex)
        #expect(alice.rawValue == hexBytes(Self.alicePrivateHex))
        #expect(alice.publicKey.hexKey == Self.alicePublicHex)
    }

    @Test("generated private keys are fresh and clamped like wg genkey")
    func generateClamped() {
        var seen = Set<[UInt8]>()
        for _ in 0..<64 {
            let k = PrivateKey.generate()
            let b = k.rawValue
            #expect(b.count == 32)
            #expect(b[0] & 7 == 0)
            #expect(b[31] & 128 == 0)
            #expect(b[31] & 64 == 64)
            seen.insert(b)
        }
        #expect(seen.count == 64)
    }

    @Test("generated keys round-trip through base64 and hex")
    func roundTrips() throws {
        for _ in 0..<32 {
            let k = PrivateKey.generate()
            let fromB64 = try PrivateKey(base64Key: k.base64Key)
            let fromHex = try PrivateKey(hexKey: k.hexKey)
            #expect(fromB64.constantTimeEquals(k))
            #expect(fromHex.constantTimeEquals(k))
            #expect(k.base64Key.utf8.count == 44 && k.base64Key.hasSuffix("="))
            #expect(k.hexKey.utf8.count == 64)

            let p = k.publicKey
            #expect(try PublicKey(base64Key: p.base64Key) == p)
            #expect(try PublicKey(hexKey: p.hexKey) == p)
            #expect(try PublicKey(rawValue: p.rawValue) == p)
            #expect(p.description == p.base64Key)
        }
    }

    @Test("the public key is a function of the private key")
    func publicKeyDeterministic() throws {
        let k = PrivateKey.generate()
        let again = try PrivateKey(rawValue: k.rawValue)
        #expect(k.publicKey == again.publicKey)
        #expect(PrivateKey.generate().publicKey != k.publicKey)
    }

    @Test("private key description never contains the key")
    func privateDescription() {
        let k = PrivateKey.generate()
        let d = k.description
        #expect(!d.contains(k.base64Key))
        #expect(!d.contains(k.hexKey))
        #expect(!d.contains(String(k.base64Key.prefix(12))))
        #expect(d.hasPrefix("PrivateKey("))
        #expect(d.contains(String(k.publicKey.base64Key.prefix(8))))
        #expect("\(k)" == d)
    }

    @Test("constant-time private key comparison")
    func constantTimeEquals() throws {
        let a = PrivateKey.generate()
        var raw = a.rawValue
        #expect(a.constantTimeEquals(try PrivateKey(rawValue: raw)))
        for i in [0, 15, 31] {
            raw = a.rawValue
            raw[i] ^= 1
            #expect(!a.constantTimeEquals(try PrivateKey(rawValue: raw)))
        }
        #expect(!a.constantTimeEquals(PrivateKey.generate()))
    }

    @Test("raw keys must be exactly 32 bytes", arguments: [0, 1, 31, 33, 64])
    func rawWrongLength(n: Int) {
        let bytes = [UInt8](repeating: 7, count: n)
        #expect(throws: KeyError.wrongLength(n)) { try PublicKey(rawValue: bytes) }
        #expect(throws: KeyError.wrongLength(n)) { try PrivateKey(rawValue: bytes) }
    }

    static let validB64 = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="

    static let badBase64Keys: [String] = [
        "",
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo",  // padding missing (43)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo==",  // extra padding (45)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=",  // non-zero trailing bits (non-canonical)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmr=",  // non-zero trailing bits
        "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo=",  // base64url character
        "hSDwCYkwp1R0i33ctD73Wg2-Og0mOBr066SpjqqbTmo=",  // base64url character
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm*=",  // bad character
        " hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",  // leading space
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\n",  // trailing newline
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mO Br066SpjqqbTmo=",  // inner space (45)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT o=",  // inner space (44)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT=o=",  // padding in the middle
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbT===",  // triple padding (44)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm==",  // double padding where one is due (44)
        "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmé=",  // non-ASCII
    ]

    @Test("strict base64: malformed keys are refused", arguments: badBase64Keys)
    func badBase64(text: String) {
        #expect(throws: KeyError.invalidBase64(text)) { try PublicKey(base64Key: text) }
        #expect(throws: KeyError.invalidBase64(text)) { try PrivateKey(base64Key: text) }
    }

    @Test("44 canonical characters holding 31 bytes are refused as the wrong length")
    func base64ThirtyOneBytes() {
        let text = Base64.encode([UInt8](repeating: 0xab, count: 31))
        #expect(text.utf8.count == 44 && text.hasSuffix("=="))
        #expect(throws: KeyError.wrongLength(31)) { try PublicKey(base64Key: text) }
        #expect(throws: KeyError.wrongLength(31)) { try PrivateKey(base64Key: text) }
    }

    @Test("44 unpadded characters holding 33 bytes are refused as the wrong length")
    func base64ThirtyThreeBytes() {
        let text = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmoA"
        #expect(text.utf8.count == 44)
        #expect(throws: KeyError.wrongLength(33)) { try PublicKey(base64Key: text) }
        #expect(throws: KeyError.wrongLength(33)) { try PrivateKey(base64Key: text) }
    }

    @Test("a valid key still parses (the refusals above are not vacuous)")
    func validBase64Parses() throws {
        #expect(try PublicKey(base64Key: Self.validB64).hexKey == Self.alicePublicHex)
    }

    static let badHexKeys: [String] = [
        "",
        String(alicePublicHex.dropLast()),  // 63
        alicePublicHex + "0",  // 65
        alicePublicHex + "00",  // 66
        String(alicePublicHex.dropLast()) + "g",
        " " + String(alicePublicHex.dropLast()),
        String(alicePublicHex.dropLast(2)) + "0x",
    ]

    @Test("hex keys must be 64 hex digits", arguments: badHexKeys)
    func badHex(text: String) {
        #expect(throws: KeyError.invalidHex) { try PublicKey(hexKey: text) }
        #expect(throws: KeyError.invalidHex) { try PrivateKey(hexKey: text) }
    }

    @Test("hex keys are case-insensitive on input and lowercase on output")
    func hexCase() throws {
        let k = try PublicKey(hexKey: Self.alicePublicHex.uppercased())
        #expect(k.hexKey == Self.alicePublicHex)
    }

    @Test("key errors describe themselves")
    func errorDescriptions() {
        #expect(KeyError.wrongLength(31).description.contains("31"))
        #expect(KeyError.invalidBase64("x").description.contains("base64"))
        #expect(KeyError.invalidHex.description.contains("64"))
    }

    @Test("public keys order lexicographically by bytes and hash by value")
    func ordering() throws {
        var a = [UInt8](repeating: 0, count: 32)
        var b = a
        a[0] = 1
        b[0] = 1; b[31] = 1
        let ka = try PublicKey(rawValue: a), kb = try PublicKey(rawValue: b)
        var c = a
        c[0] = 2
        let kc = try PublicKey(rawValue: c)
        #expect(ka < kb)
        #expect(kb < kc)
        #expect(!(kb < ka))
        #expect(!(ka < ka))
        #expect([kc, ka, kb].sorted() == [ka, kb, kc])
        #expect(Set([ka, try PublicKey(rawValue: a)]).count == 1)
    }

    @Test("public keys encode as their base64 string in JSON")
    func codable() throws {
        let k = try PublicKey(hexKey: Self.alicePublicHex)
        let bytes = ControlCodec.encodeJSON([k])
        #expect(String(decoding: bytes, as: UTF8.self) == "[\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=\"]")
        #expect(try JSONDecoder().decode([PublicKey].self, from: Data(bytes)) == [k])
    }

    @Test("decoding a malformed key from JSON is a DecodingError", arguments: [
        "[\"hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmp=\"]",
        "[\"AAAA\"]",
        "[\"\"]",
    ])
    func codableRefusal(json: String) {
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([PublicKey].self, from: Data(json.utf8)) }
    }
}

@Suite("Sodium wrappers")
struct SodiumTests {
    @Test("BLAKE2b-256 matches known digests")
    func hashVectors() {
        #expect(Hex.encode(Sodium.hash([])) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8")
        #expect(Hex.encode(Sodium.hash(Array("abc".utf8))) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319")
    }

    @Test("random bytes have the requested length and differ")
    func randomBytes() {
        #expect(Sodium.randomBytes(0).isEmpty)
        #expect(Sodium.randomBytes(1).count == 1)
        let a = Sodium.randomBytes(32), b = Sodium.randomBytes(32)
        #expect(a.count == 32 && b.count == 32)
        #expect(a != b)
    }

    @Test("constant-time equality")
    func constantTimeEqual() {
        #expect(Sodium.constantTimeEqual([], []))
        #expect(Sodium.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!Sodium.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!Sodium.constantTimeEqual([1, 2, 3], [1, 2]))
        #expect(!Sodium.constantTimeEqual([], [0]))
    }
}
