import CSodium

/// The precomputed crypto_box key between one private and one public Curve25519 key.
/// A node and the coordinator derive the same SharedKey from their own private key and the
/// other's public key; the node's key is its WireGuard key, so a sealed request proves the node
/// holds that WireGuard private key.
public struct SharedKey: Sendable {
    private let k: [UInt8]
    /// False when the public key is a low-order point: no secret can be derived from it (the key
    /// would be all zeros, known to everyone), so nothing sealed with it proves anything and
    /// `open` refuses every box.
    public let isValid: Bool

    public static let nonceLength = 24
    public static let macLength = 16

    public init(privateKey: PrivateKey, publicKey: PublicKey) {
        Sodium.ready()
        var k = [UInt8](repeating: 0, count: 32)
        let rc = k.withUnsafeMutableBufferPointer { kp in
            privateKey.bytes.withUnsafeBufferPointer { sp in
                publicKey.rawValue.withUnsafeBufferPointer { pp in
                    crypto_box_beforenm(kp.baseAddress!, pp.baseAddress!, sp.baseAddress!)
                }
            }
        }
        self.k = k
        self.isValid = rc == 0
    }

    /// Encrypts and authenticates; returns the random nonce and the box (MAC + ciphertext).
    public func seal(_ plaintext: [UInt8]) -> (nonce: [UInt8], box: [UInt8]) {
        let nonce = Sodium.randomBytes(Self.nonceLength)
        var box = [UInt8](repeating: 0, count: plaintext.count + Self.macLength)
        _ = box.withUnsafeMutableBufferPointer { b in
            plaintext.withUnsafeBufferPointer { m in
                nonce.withUnsafeBufferPointer { n in
                    k.withUnsafeBufferPointer { kp in
                        crypto_box_easy_afternm(b.baseAddress!, m.baseAddress, UInt64(m.count), n.baseAddress!, kp.baseAddress!)
                    }
                }
            }
        }
        return (nonce, box)
    }

    /// Nil when the box was not made with this key and nonce, or was altered.
    public func open(nonce: [UInt8], box: [UInt8]) -> [UInt8]? {
        guard isValid, nonce.count == Self.nonceLength, box.count >= Self.macLength else { return nil }
        var plain = [UInt8](repeating: 0, count: box.count - Self.macLength)
        let rc = plain.withUnsafeMutableBufferPointer { m in
            box.withUnsafeBufferPointer { b in
                nonce.withUnsafeBufferPointer { n in
                    k.withUnsafeBufferPointer { kp in
                        crypto_box_open_easy_afternm(m.baseAddress ?? UnsafeMutablePointer(mutating: b.baseAddress!), b.baseAddress!, UInt64(b.count), n.baseAddress!, kp.baseAddress!)
                    }
                }
            }
        }
        return rc == 0 ? plain : nil
    }
}
