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

    public static func format(seconds s: Int64) -> String {
        if s % 604_800 == 0 { return "\(s / 604_800)w" }
        if s % 86400 == 0 { return "\(s / 86400)d" }
        if s % 3600 == 0 { return "\(s / 3600)h" }
        if s % 60 == 0 { return "\(s / 60)m" }
        return "\(s)s"
    }
}
