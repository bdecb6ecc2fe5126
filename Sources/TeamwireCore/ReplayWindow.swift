/// Refuses sealed requests that are stale, from the future, or seen before.
///
/// A request is accepted when its timestamp is within `skew` of now and its nonce has not been
/// seen. Nonces are kept in three generations of `skew` each, so every nonce is remembered for
/// at least twice the skew: longer than any timestamp it came with stays acceptable.
public struct ReplayWindow: Sendable {
    struct NonceKey: Hashable, Sendable { var a: UInt64; var b: UInt64; var c: UInt64 }

    public let skewMillis: Int64
    private var generations: [Set<NonceKey>] = [[], [], []]
    private var generationStart: Int64 = 0

    public init(skewMillis: Int64 = ControlCodec.maxSkewMillis) {
        self.skewMillis = skewMillis
    }

    public var rememberedCount: Int { generations.reduce(0) { $0 + $1.count } }

    static func key(_ nonce: [UInt8]) -> NonceKey {
        func word(_ i: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 << 8 | UInt64(nonce[i + $1]) } }
        return NonceKey(a: word(0), b: word(8), c: word(16))
    }

    /// Nil when accepted (and the nonce is now remembered), else the refusal.
    public mutating func admit(nonce: [UInt8], timestampMillis ts: Int64, nowMillis now: Int64) -> APIError? {
        guard nonce.count == SharedKey.nonceLength else { return APIError(.badEnvelope, "bad nonce") }
        // The timestamp comes from outside: any Int64, so the difference may not fit one.
        let (offset, overflow) = ts.subtractingReportingOverflow(now)
        if overflow || offset.magnitude > skewMillis.magnitude {
            let away = overflow ? "far" : "\(offset / 1000) s"
            return APIError(.clockSkew, "request timestamp is \(away) away from the coordinator's clock (allowed ±\(skewMillis / 1000) s); check the node's clock", serverTime: now)
        }
        rotate(now)
        let k = Self.key(nonce)
        if generations.contains(where: { $0.contains(k) }) {
            return APIError(.replayed, "this request was already received (replay refused)")
        }
        generations[0].insert(k)
        return nil
    }

    private mutating func rotate(_ now: Int64) {
        if generationStart == 0 { generationStart = now }
        var steps = 0
        while now - generationStart >= skewMillis, steps < 3 {
            generations.insert([], at: 0)
            generations.removeLast()
            generationStart += skewMillis
            steps += 1
        }
        if now - generationStart >= skewMillis { generationStart = now }
    }
}
