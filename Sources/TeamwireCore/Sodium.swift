import CSodium

/// Thin wrappers over the few libsodium calls teamwire needs.
/// sodium_init is idempotent and thread-safe; a global `let` runs it once.
private let sodiumReady: Bool = sodium_init() >= 0

public enum Sodium {
    static func ready() {
        precondition(sodiumReady, "libsodium failed to initialise")
    }

    /// Cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return out
    }

    /// BLAKE2b-256: used to store token secrets (256-bit random values, so no slow KDF is needed).
    public static func hash(_ input: [UInt8]) -> [UInt8] {
        ready()
        var out = [UInt8](repeating: 0, count: 32)
        _ = out.withUnsafeMutableBufferPointer { o in
            input.withUnsafeBufferPointer { i in
                crypto_generichash(o.baseAddress!, 32, i.baseAddress, UInt64(i.count), nil, 0)
            }
        }
        return out
    }

    /// Constant-time comparison; false when lengths differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        ready()
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in sodium_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 }
        }
    }
}
