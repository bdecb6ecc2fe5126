import Testing
@testable import TeamwireCore

/// Issue 15, finding 4: after a coordinator crash, agents must re-attach within about 2 s of its
/// restart, also in a crash loop; a coordinator gone for long is not flooded.
@Suite("Retry backoff")
struct RetryBackoffTests {
    @Test("a coordinator that answered moments ago is asked again within 0.75 s, for the whole fast window")
    func fastWhileRecentlyAlive() {
        var b = RetryBackoff()
        b.alive(at: 100)
        for t in stride(from: 100.0, to: 100 + RetryBackoff.fastWindow, by: 0.5) {
            for j in [0.0, 0.5, 0.999] {
                let d = b.delay(now: t, jitter: j)
                #expect(d >= 0.25 && d < 0.75, "at \(t): \(d)")
            }
        }
    }

    @Test("past the fast window the delay doubles from 1 s to 30 s, jittered ±50 %")
    func slowAfterTheWindow() {
        var b = RetryBackoff()
        b.alive(at: 0)
        var plain: [Double] = []
        for i in 0..<8 { plain.append(b.delay(now: RetryBackoff.fastWindow + Double(i), jitter: 0.5)) }
        #expect(plain == [1, 2, 4, 8, 16, 30, 30, 30])
        var low = RetryBackoff(), high = RetryBackoff()
        #expect(low.delay(now: 0, jitter: 0) == 0.5)
        #expect(high.delay(now: 0, jitter: 0.999_999) < 1.5)
        // Out-of-range jitter is clamped, never negative.
        var odd = RetryBackoff()
        #expect(odd.delay(now: 0, jitter: -7) == 0.5)
        #expect(odd.delay(now: 0, jitter: 9) == 3)
    }

    @Test("any sign of life resets the slow delay")
    func resetOnLife() {
        var b = RetryBackoff()
        for i in 0..<6 { _ = b.delay(now: Double(i), jitter: 0.5) }
        #expect(b.delay(now: 10, jitter: 0.5) == 30)
        b.alive(at: 1000)
        #expect(b.delay(now: 1000.1, jitter: 0.5) == RetryBackoff.fastDelay)
        #expect(b.delay(now: 1000 + RetryBackoff.fastWindow, jitter: 0.5) == 1)
    }

    /// The crash loop: three crashes 12 s apart, each followed by a restart 2 s later.
    /// Replayed against the policy: every re-attach is within 0.75 s of the restart. (The old
    /// policy, doubling from 1 s and reset only by an answered long poll, took up to 22 s.)
    @Test("a crash loop re-attaches within 0.75 s of every restart")
    func crashLoop() {
        var b = RetryBackoff()
        b.alive(at: 0)
        var t = 0.0
        for crash in [10.0, 22.0, 34.0] {
            // The parked poll breaks when the process dies: the connection was accepted, so alive.
            t = crash
            b.alive(at: t)
            let restart = crash + 2
            for jitter in [0.0, 0.999] {
                var copy = b, at = t
                while at < restart { at += copy.delay(now: at, jitter: jitter) }
                #expect(at - restart < 0.75, "crash at \(crash), jitter \(jitter): re-attached \(at - restart) s after the restart")
            }
            while t < restart { t += b.delay(now: t, jitter: 0.5) }
            b.alive(at: t)
        }
    }
}
