import Foundation
import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Base64 and hex")
struct EncodingTests {
    // RFC 4648 section 10.
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ]

    @Test("RFC 4648 base64 vectors, padded and url forms")
    func rfcVectors() {
        for (plain, encoded) in Self.rfc4648 {
            let bytes = Array(plain.utf8)
            #expect(Base64.encode(bytes) == encoded)
            #expect(Base64.decode(encoded) == bytes)
            let url = encoded.replacingOccurrences(of: "=", with: "")
            #expect(Base64.encode(bytes, url: true) == url)
            #expect(Base64.decode(url, url: true) == bytes)
        }
    }

    @Test("the two alphabets differ only in characters 62 and 63")
    func alphabets() {
        let bytes: [UInt8] = [0xfb, 0xff, 0xbf]
        #expect(Base64.encode(bytes) == "+/+/")
        #expect(Base64.encode(bytes, url: true) == "-_-_")
        #expect(Base64.decode("+/+/") == bytes)
        #expect(Base64.decode("-_-_", url: true) == bytes)
        #expect(Base64.decode("-_-_") == nil)
        #expect(Base64.decode("+/+/", url: true) == nil)
    }

    @Test("random data round-trips and agrees with Foundation")
    func randomRoundTrip() {
        var rng = SeededRNG(seed: 0xB64)
        for n in 0..<200 {
            let bytes = rng.bytes(n % 70)
            let std = Base64.encode(bytes)
            #expect(std == Data(bytes).base64EncodedString())
            #expect(Base64.decode(std) == bytes)
            let url = Base64.encode(bytes, url: true)
            #expect(!url.contains("=") && !url.contains("+") && !url.contains("/"))
            #expect(Base64.decode(url, url: true) == bytes)
            #expect(std.utf8.count == (bytes.count + 2) / 3 * 4)
            #expect(url.utf8.count == (bytes.count * 4 + 2) / 3)

            let hex = Hex.encode(bytes)
            #expect(hex.utf8.count == bytes.count * 2)
            #expect(hex == bytes.map { String(format: "%02x", $0) }.joined())
            #expect(Hex.decode(hex) == bytes)
            #expect(Hex.decode(hex.uppercased()) == bytes)
        }
    }

    @Test("standard base64 refuses malformed input", arguments: [
        "Zg", "Zg=", "Zm8", "Z", "Zg===", "Zm9vY", "=", "==", "====", "Zg=a", "Z=g=", "=Zg=",
        "Zh==",  // non-zero trailing bits
        "Zm9=",  // non-zero trailing bits
        "Zm 9v", " Zm9v", "Zm9v ", "Zm9v\n", "Zm\n9v", "Zm9v\0", "Zm9_", "Zm9-", "Zm9*", "Zm9é", "Zm9v====",
        "A===",
    ])
    func strictStandard(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("base64url refuses padding, bad characters and impossible lengths", arguments: [
        "Zg==", "Zm8=", "Z", "Zm9vY", "Zh", "Zm9", "Zm9+", "Zm9/", "Zm 9v", "Zm9v\n", "Zm9vé", "=",
    ])
    func strictURL(text: String) {
        #expect(Base64.decode(text, url: true) == nil)
    }

    @Test("every single-character change of a canonical encoding either fails or decodes to different bytes")
    func canonicalUniqueness() {
        var rng = SeededRNG(seed: 42)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=".utf8)
        for len in [1, 2, 3, 4, 5, 31, 32] {
            let bytes = rng.bytes(len)
            let text = Array(Base64.encode(bytes).utf8)
            for i in text.indices {
                for c in alphabet where c != text[i] {
                    var t = text
                    t[i] = c
                    if let d = Base64.decode(String(decoding: t, as: UTF8.self)) {
                        #expect(d != bytes, "\(String(decoding: t, as: UTF8.self)) decodes to the same bytes")
                        // A decodable text is the canonical encoding of what it decodes to.
                        #expect(Base64.encode(d) == String(decoding: t, as: UTF8.self))
                    }
                }
            }
        }
    }

    @Test("hex refuses odd lengths and non-hex characters", arguments: [
        "0", "abc", "0g", "g0", " 00", "00 ", "0x00", "+0", "-0", "zz", "é0", "１２",
    ])
    func strictHex(text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test("hex vectors")
    func hexVectors() {
        #expect(Hex.encode([]) == "")
        #expect(Hex.decode("") == [])
        #expect(Hex.encode([0x00, 0x0f, 0xf0, 0xff, 0x9a]) == "000ff0ff9a")
        #expect(Hex.decode("000FF0fF9a") == [0x00, 0x0f, 0xf0, 0xff, 0x9a])
        #expect(Hex.decode("0123456789abcdefABCDEF") == [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef])
    }
}
