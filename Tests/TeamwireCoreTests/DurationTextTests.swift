import Testing
@testable import TeamwireCore
import TestSupport

@Suite("Duration text")
struct DurationTextTests {
    @Test("durations as people type them", arguments: [
        ("1s", Int64(1)), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604_800), ("2w", 1_209_600),
        ("1h30m", 5400), ("1d12h", 129_600), ("1w1d1h1m1s", 694_861), ("1m1h", 3660), ("1h1h", 7200),
        ("0h1s", 1), ("007s", 7), ("366d", 31_622_400), ("100000000s", 100_000_000),
    ])
    func valid(text: String, seconds: Int64) {
        #expect(DurationText.seconds(text) == seconds)
    }

    @Test("malformed or non-positive durations are refused", arguments: [
        "", "0s", "0h0m", "10", "1h30", "s", "h1", "1x", "1H", "1S", "1 h", " 1h", "1h ", "-1h", "+1h", "1.5h", "1hh",
        "1_000s", "１h", "1h\n", "9223372036854775808s", "9223372036854775807w", "153722867280912931m", "1" + String(repeating: "0", count: 30) + "s",
        String(repeating: "1s", count: 17),  // 34 characters: too long
    ])
    func invalid(text: String) {
        #expect(DurationText.seconds(text) == nil)
    }

    @Test("the largest representable total is accepted; one more overflows")
    func overflowEdge() {
        #expect(DurationText.seconds("9223372036854775807s") == Int64.max)
        #expect(DurationText.seconds("9223372036854775807s1s") == nil)
        let maxWeeks: Int64 = 15_250_284_452_471 * 604_800
        #expect(DurationText.seconds("15250284452471w") == maxWeeks)
        #expect(DurationText.seconds("15250284452472w") == nil)
    }

    @Test("formatting uses the largest unit that divides evenly", arguments: [
        (Int64(1), "1s"), (59, "59s"), (60, "1m"), (90, "90s"), (3600, "1h"), (5400, "90m"), (86400, "1d"), (90000, "25h"),
        (604_800, "1w"), (1_209_600, "2w"), (691_200, "8d"), (31_622_400, "366d"), (3601, "3601s"),
    ])
    func format(seconds: Int64, text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }

    @Test("format and parse round-trip")
    func roundTrip() {
        var rng = SeededRNG(seed: 86400)
        for _ in 0..<2000 {
            let unit = [1, 60, 3600, 86400, 604_800].randomElement(using: &rng)! as Int64
            let s = Int64.random(in: 1...100_000, using: &rng) * unit
            let text = DurationText.format(seconds: s)
            #expect(DurationText.seconds(text) == s, "\(s) -> \(text)")
        }
    }

    /// `status` and `node list` print ages of times other processes report (a WireGuard handshake,
    /// the coordinator's last contact, a node's last request): any Int64. `now - ms` trapped.
    @Test("ages of any Int64 time", arguments: [
        (Int64.min, Int64(1_700_000_000_000), "\(Int64.max / 1000)s ago"), (Int64.min + 1, 1_700_000_000_000, "\(Int64.max / 1000)s ago"),
        (-1, 1_700_000_000_000, "1700000000s ago"), (Int64.max, 1_700_000_000_000, "now"), (Int64.max, Int64.min, "now"),
        (Int64.min, Int64.max, "\(Int64.max / 1000)s ago"), (Int64.min, Int64.min, "now"), (0, Int64.max, "9223372036854775s ago"),
        (1_700_000_000_000, 1_700_000_000_000, "now"), (1_700_000_000_000, 1_700_000_000_999, "now"), (1_699_999_999_000, 1_700_000_000_000, "1s ago"),
        (1_700_000_000_000 - 300_000, 1_700_000_000_000, "5m ago"), (1_700_000_000_000 + 5_000, 1_700_000_000_000, "now"),
    ] as [(Int64, Int64, String)])
    func ago(ms: Int64, now: Int64, text: String) {
        #expect(DurationText.ago(millis: ms, nowMillis: now) == text)
    }
}
