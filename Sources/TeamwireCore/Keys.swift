import CSodium

/// Errors parsing key material.
public enum KeyError: Error, Equatable, CustomStringConvertible {
    case invalidBase64(String)
    case wrongLength(Int)
    case invalidHex

    public var description: String {
        switch self {
        case .invalidBase64: "key is not valid base64 (expected 44 characters ending in '=')"
        case .wrongLength(let n): "key has \(n) bytes, expected 32"
        case .invalidHex: "key is not 64 hexadecimal characters"
        }
    }
}

/// Strict base64 of exactly 32 bytes, as `wg` prints keys: 44 characters, canonical encoding.
func decodeKey32(base64 text: String) throws -> [UInt8] {
    guard text.utf8.count == 44, let bytes = Base64.decode(text), Base64.encode(bytes) == text else {
        throw KeyError.invalidBase64(text)
    }
    guard bytes.count == 32 else { throw KeyError.wrongLength(bytes.count) }
    return bytes
}

func decodeKey32(hex text: String) throws -> [UInt8] {
    guard text.utf8.count == 64, let bytes = Hex.decode(text) else { throw KeyError.invalidHex }
    return bytes
}

/// A Curve25519 public key: a WireGuard peer key, and the key a node's control requests are sealed with.
public struct PublicKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: [UInt8]

    public init(rawValue: [UInt8]) throws {
        guard rawValue.count == 32 else { throw KeyError.wrongLength(rawValue.count) }
        self.rawValue = rawValue
    }

    public init(base64Key: String) throws { self.rawValue = try decodeKey32(base64: base64Key) }
    public init(hexKey: String) throws { self.rawValue = try decodeKey32(hex: hexKey) }

    public var base64Key: String { Base64.encode(rawValue) }
    public var hexKey: String { Hex.encode(rawValue) }
    public var description: String { base64Key }

    public static func < (lhs: PublicKey, rhs: PublicKey) -> Bool {
        lhs.rawValue.lexicographicallyPrecedes(rhs.rawValue)
    }
}

extension PublicKey: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(base64Key: text) } catch let error as KeyError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(base64Key)
    }
}

/// A Curve25519 private key. Deliberately neither Equatable nor Codable: it is compared only in
/// constant time and never put into a message by accident.
public struct PrivateKey: Sendable, CustomStringConvertible {
    let bytes: [UInt8]

    public init(rawValue: [UInt8]) throws {
        guard rawValue.count == 32 else { throw KeyError.wrongLength(rawValue.count) }
        self.bytes = rawValue
    }

    public init(base64Key: String) throws { self.bytes = try decodeKey32(base64: base64Key) }
    public init(hexKey: String) throws { self.bytes = try decodeKey32(hex: hexKey) }

    /// A fresh key from libsodium's CSPRNG, clamped the way `wg genkey` clamps.
    public static func generate() -> PrivateKey {
        var b = Sodium.randomBytes(32)
        b[0] &= 248
        b[31] = (b[31] & 127) | 64
        return try! PrivateKey(rawValue: b)
    }

    public var base64Key: String { Base64.encode(bytes) }
    public var hexKey: String { Hex.encode(bytes) }
    public var rawValue: [UInt8] { bytes }
    /// Never print key material in logs.
    public var description: String { "PrivateKey(\(publicKey.base64Key.prefix(8))…)" }

    public var publicKey: PublicKey {
        Sodium.ready()
        var pub = [UInt8](repeating: 0, count: 32)
        _ = pub.withUnsafeMutableBufferPointer { p in
            bytes.withUnsafeBufferPointer { s in crypto_scalarmult_base(p.baseAddress!, s.baseAddress!) }
        }
        return try! PublicKey(rawValue: pub)
    }

    public func constantTimeEquals(_ other: PrivateKey) -> Bool {
        Sodium.constantTimeEqual(bytes, other.bytes)
    }
}
