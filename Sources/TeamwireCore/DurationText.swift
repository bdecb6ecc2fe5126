/// Durations as people type them: `90s`, `30m`, `24h`, `7d`, `2w`, or combined like `1h30m`.
public enum DurationText {
    public static func seconds(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.count <= 32 else { return nil }
        var total: Int64 = 0
        var number: Int64? = nil
        for c in text {
            if let d = c.wholeNumberValue, c.isASCII {
                let (m, o1) = (number ?? 0).multipliedReportingOverflow(by: 10)
                let (n, o2) = m.addingReportingOverflow(Int64(d))
                guard !o1, !o2 else { return nil }
                number = n
            } else {
                let unit: Int64
                switch c {
                case "s": unit = 1
                case "m": unit = 60
                case "h": unit = 3600
                case "d": unit = 86400
                case "w": unit = 604_800
                default: return nil
                }
                guard let n = number else { return nil }
                let (v, o1) = n.multipliedReportingOverflow(by: unit)
                let (t, o2) = total.addingReportingOverflow(v)
                guard !o1, !o2 else { return nil }
                total = t
                number = nil
            }
        }
        guard number == nil, total > 0 else { return nil }
        return total
    }

    /// How long ago a Unix-ms time was, as `status` and `node list` print it: "now" for the
    /// present or the future, else "5m ago". The time comes from another process (the agent, the
    /// coordinator, WireGuard), so it may be any Int64: the difference saturates, never traps.
    public static func ago(millis ms: Int64, nowMillis now: Int64) -> String {
        let (elapsed, overflow) = now.subtractingReportingOverflow(ms)
        // Overflow: a time so far in the past (or future) that the difference leaves Int64.
        let s = overflow ? (ms < now ? Int64.max / 1000 : 0) : max(0, elapsed / 1000)
        return s < 1 ? "now" : "\(format(seconds: s)) ago"
    }

    public static func format(seconds s: Int64) -> String {
        if s % 604_800 == 0 { return "\(s / 604_800)w" }
        if s % 86400 == 0 { return "\(s / 86400)d" }
        if s % 3600 == 0 { return "\(s / 3600)h" }
        if s % 60 == 0 { return "\(s / 60)m" }
        return "\(s)s"
    }
}
