/// `teamwire doctor --canary`: one UDP datagram to each member's agent (its overlay address,
/// port 7948) and back. A request is the magic, kind 1 and a 16-byte nonce; the answer is the
/// same with kind 2. Anything else is not a canary and gets no answer.
public enum CanaryMessage {
    public static let port: UInt16 = 7948
    public static let magic: [UInt8] = Array("teamwire-canary-1".utf8)
    public static let nonceLength = 16
    public static let size = magic.count + 1 + nonceLength

    public enum Kind: UInt8, Sendable, Equatable {
        case request = 1
        case answer = 2
    }

    public static func encode(_ kind: Kind, nonce: [UInt8]) -> [UInt8] {
        precondition(nonce.count == nonceLength, "a canary nonce is \(nonceLength) bytes")
        return magic + [kind.rawValue] + nonce
    }

    /// The kind and nonce of a datagram, or nil if it is not exactly a canary.
    public static func parse(_ bytes: some Collection<UInt8>) -> (kind: Kind, nonce: [UInt8])? {
        guard bytes.count == size, bytes.starts(with: magic) else { return nil }
        let rest = Array(bytes.dropFirst(magic.count))
        guard let kind = Kind(rawValue: rest[0]) else { return nil }
        return (kind, Array(rest.dropFirst()))
    }

    /// The answer to a datagram: only to a well-formed request.
    public static func answer(to bytes: some Collection<UInt8>) -> [UInt8]? {
        guard let (kind, nonce) = parse(bytes), kind == .request else { return nil }
        return encode(.answer, nonce: nonce)
    }
}

/// A token bucket: at most `burst` at once and `perSecond` on average. Pure (the caller gives
/// the time), so the responder's limit is tested without waiting.
public struct RateLimit: Sendable, Equatable {
    public let perSecond: Double
    public let burst: Double
    private var tokens: Double
    private var last: Double?

    public init(perSecond: Double, burst: Double) {
        self.perSecond = perSecond
        self.burst = burst
        tokens = burst
    }

    /// Whether one more is allowed at `now` (seconds on a monotonic clock).
    public mutating func admit(now: Double) -> Bool {
        if let last, now > last { tokens = min(burst, tokens + (now - last) * perSecond) }
        last = max(last ?? now, now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
