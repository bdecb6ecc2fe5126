import TeamwireCore

/// A WireGuard preshared key (32 random bytes). The all-zero key (`.zero`, not `.none`, which
/// would read as Optional.none) means "no preshared key", as in the kernel
/// and the UAPI.
public struct PresharedKey: Sendable, Equatable, CustomStringConvertible {
    public let rawValue: [UInt8]

    public init?(rawValue: [UInt8]) {
        guard rawValue.count == 32 else { return nil }
        self.rawValue = rawValue
    }

    public init?(base64Key: String) {
        guard let b = Base64.decode(base64Key), b.count == 32 else { return nil }
        rawValue = b
    }

    public static let zero = PresharedKey(rawValue: [UInt8](repeating: 0, count: 32))!
    public static func generate() -> PresharedKey { PresharedKey(rawValue: PrivateKey.generate().rawValue)! }

    public var isNone: Bool { rawValue.allSatisfy { $0 == 0 } }
    public var base64Key: String { Base64.encode(rawValue) }
    /// Never print the secret.
    public var description: String { isNone ? "(none)" : "(hidden)" }

    public static func == (a: PresharedKey, b: PresharedKey) -> Bool { Sodium.constantTimeEqual(a.rawValue, b.rawValue) }
}
