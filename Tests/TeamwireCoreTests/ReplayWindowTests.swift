import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Replay window")
struct ReplayWindowTests {
    static let t0: Int64 = 1_700_000_000_000
    static let skew = ControlCodec.maxSkewMillis

    static func nonce(_ n: Int) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 24)
        for i in 0..<8 { b[i] = UInt8(truncatingIfNeeded: n >> (8 * i)) }
        b[23] = 0xa5
        return b
    }

    @Test("the default skew is 60 s")
    func defaults() {
        #expect(ControlCodec.maxSkewMillis == 60_000)
        #expect(ReplayWindow().skewMillis == 60_000)
        #expect(ReplayWindow().rememberedCount == 0)
    }

    @Test("a fresh request is accepted once; the duplicate is refused")
    func duplicate() {
        var w = ReplayWindow()
        #expect(w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0, nowMillis: Self.t0) == nil)
        #expect(w.rememberedCount == 1)
        let e = w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0, nowMillis: Self.t0 + 10)
        #expect(e?.code == .replayed)
        #expect(w.rememberedCount == 1)
        // The same nonce is refused whatever timestamp it comes with.
        #expect(w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0 + 5_000, nowMillis: Self.t0 + 5_000)?.code == .replayed)
        // Nonces that differ only in their last bytes are different nonces.
        var other = Self.nonce(1)
        other[23] ^= 1
        #expect(w.admit(nonce: other, timestampMillis: Self.t0, nowMillis: Self.t0) == nil)
        other = Self.nonce(1)
        other[12] ^= 1
        #expect(w.admit(nonce: other, timestampMillis: Self.t0, nowMillis: Self.t0) == nil)
        #expect(w.rememberedCount == 3)
    }

    @Test("timestamps up to 60 s either side are accepted", arguments: [0, 1, -1, 59_999, -59_999, 60_000, -60_000] as [Int64])
    func withinSkew(offset: Int64) {
        var w = ReplayWindow()
        #expect(w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0 + offset, nowMillis: Self.t0) == nil)
    }

    @Test("timestamps further away are refused with the server's time", arguments: [60_001, -60_001, 3_600_000, -3_600_000, Self.t0] as [Int64])
    func outsideSkew(offset: Int64) {
        var w = ReplayWindow()
        let e = w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0 + offset, nowMillis: Self.t0)
        #expect(e?.code == .clockSkew)
        #expect(e?.serverTime == Self.t0)
        #expect(e?.message.contains("±60 s") == true)
        #expect(w.rememberedCount == 0, "a refused request is not remembered")
        // So the same nonce with a good timestamp is still accepted.
        #expect(w.admit(nonce: Self.nonce(1), timestampMillis: Self.t0, nowMillis: Self.t0) == nil)
    }

    @Test("timestamps at the ends of Int64 are refused, not trapped on (issue 15)",
          arguments: [Int64.min, Int64.min + 1, Int64.max, Int64.max - 1])
    func extremeTimestamps(ts: Int64) {
        var w = ReplayWindow()
        for now in [Self.t0, 0, -Self.t0] as [Int64] {
            let e = w.admit(nonce: Self.nonce(1), timestampMillis: ts, nowMillis: now)
            #expect(e?.code == .clockSkew)
            #expect(e?.serverTime == now)
        }
    }

    @Test("nonces must be 24 bytes", arguments: [0, 1, 23, 25, 48])
    func nonceLength(n: Int) {
        var w = ReplayWindow()
        #expect(w.admit(nonce: [UInt8](repeating: 1, count: n), timestampMillis: Self.t0, nowMillis: Self.t0)?.code == .badEnvelope)
        #expect(w.rememberedCount == 0)
    }

    @Test("a future-dated request is remembered as long as its timestamp stays acceptable")
    func futureDatedReplay() {
        var w = ReplayWindow()
        let ts = Self.t0 + Self.skew
        #expect(w.admit(nonce: Self.nonce(1), timestampMillis: ts, nowMillis: Self.t0) == nil)
        // Replayed at every second until its timestamp is too old: always refused.
        var now = Self.t0
        while now <= ts + Self.skew + 5_000 {
            let e = w.admit(nonce: Self.nonce(1), timestampMillis: ts, nowMillis: now)
            #expect(e != nil, "replay accepted at +\(now - Self.t0) ms")
            #expect(e?.code == (abs(ts - now) > Self.skew ? .clockSkew : .replayed))
            // Keep the window rotating with other traffic.
            _ = w.admit(nonce: Self.nonce(Int(now)), timestampMillis: now, nowMillis: now)
            now += 1_000
        }
    }

    @Test("generations rotate: old nonces are forgotten, but their stale timestamps are still refused")
    func rotation() {
        var w = ReplayWindow()
        for i in 0..<10 { #expect(w.admit(nonce: Self.nonce(i), timestampMillis: Self.t0, nowMillis: Self.t0) == nil) }
        #expect(w.rememberedCount == 10)
        // Within two skews everything is remembered.
        #expect(w.admit(nonce: Self.nonce(100), timestampMillis: Self.t0 + 2 * Self.skew - 1, nowMillis: Self.t0 + 2 * Self.skew - 1) == nil)
        #expect(w.rememberedCount == 11)
        // After three generations the first ones are gone.
        let later = Self.t0 + 3 * Self.skew
        #expect(w.admit(nonce: Self.nonce(101), timestampMillis: later, nowMillis: later) == nil)
        #expect(w.rememberedCount == 2)
        // A replay of a forgotten nonce with its original timestamp is refused for its age.
        #expect(w.admit(nonce: Self.nonce(3), timestampMillis: Self.t0, nowMillis: later)?.code == .clockSkew)
        // A long quiet period empties the window.
        let much = later + 10 * Self.skew
        #expect(w.admit(nonce: Self.nonce(102), timestampMillis: much, nowMillis: much) == nil)
        #expect(w.rememberedCount == 1)
        #expect(w.admit(nonce: Self.nonce(101), timestampMillis: later, nowMillis: much)?.code == .clockSkew)
    }

    @Test("memory stays bounded under steady traffic")
    func bounded() {
        var w = ReplayWindow()
        var now = Self.t0
        for i in 0..<20_000 {
            now += 100  // 10 requests per second
            #expect(w.admit(nonce: Self.nonce(i), timestampMillis: now, nowMillis: now) == nil)
        }
        // Three generations of 60 s at 10/s: at most 1,800 remembered.
        #expect(w.rememberedCount <= 3 * 600)
        #expect(w.rememberedCount >= 2 * 600)
    }

    @Test("property: no replay of an accepted request is ever accepted; every fresh, timely request is",
          arguments: [1, 2, 3, 4] as [UInt64])
    func property(seed: UInt64) {
        var rng = SeededRNG(seed: seed)
        var w = ReplayWindow()
        var now = Self.t0
        var sent: [(nonce: [UInt8], ts: Int64)] = []
        var accepted = Set<[UInt8]>()
        var replaysRefused = 0
        for i in 0..<5000 {
            // The coordinator's clock: mostly forward, sometimes a big jump, sometimes a small step back.
            switch Int.random(in: 0..<100, using: &rng) {
            case 0: now += Int64.random(in: 0...(5 * Self.skew), using: &rng)
            case 1: now -= Int64.random(in: 0...2_000, using: &rng)
            default: now += Int64.random(in: 0...3_000, using: &rng)
            }
            if !sent.isEmpty, Int.random(in: 0..<3, using: &rng) == 0 {
                // A replay: byte-identical, so the same nonce and timestamp.
                let (n, ts) = sent.randomElement(using: &rng)!
                let e = w.admit(nonce: n, timestampMillis: ts, nowMillis: now)
                if accepted.contains(n) {
                    #expect(e != nil, "step \(i): replay accepted")
                    #expect(e?.code == (abs(ts - now) > Self.skew ? .clockSkew : .replayed))
                    replaysRefused += 1
                } else {
                    // Never accepted before (it was refused for its timestamp): judged on its timestamp alone.
                    #expect((e == nil) == (abs(ts - now) <= Self.skew))
                    if e == nil { accepted.insert(n) }
                }
            } else {
                let n = rng.bytes(24)
                let ts = now + Int64.random(in: -(Self.skew + 10_000)...(Self.skew + 10_000), using: &rng)
                let e = w.admit(nonce: n, timestampMillis: ts, nowMillis: now)
                let timely = abs(ts - now) <= Self.skew
                #expect((e == nil) == timely, "step \(i)")
                if !timely { #expect(e?.code == .clockSkew) }
                if e == nil { accepted.insert(n) }
                sent.append((n, ts))
            }
        }
        #expect(replaysRefused > 500)
    }
}
