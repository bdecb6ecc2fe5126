import Logging
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// How the daemons write their log: `text` for people (a terminal or the journal), `json` for
/// log shippers (one object per line).
public enum LogFormat: String, Sendable, CaseIterable {
    case text, json
}

/// One log line, rendered without I/O (what the formatter tests check).
///
/// - text: `2026-12-04T21:08:27.123+01:00 info teamwire.agent: message key=value`, local time
///   with milliseconds.
/// - text under systemd: `<6>info teamwire.agent: message key=value`, the sd-daemon priority
///   prefix (journald strips it into PRIORITY) and no time (journald stamps every line).
/// - json: `{"time":"2026-12-04T20:08:27.123Z","level":"info","label":...,"message":...,
///   "metadata":{...}}`, UTC; under systemd with the same priority prefix before it.
///
/// Control characters in the message and values are escaped, so an entry is always one line
/// (journald would file a second line as a separate entry at the default priority).
public struct LogLine: Sendable {
    public var format: LogFormat
    /// stderr is the journal's stream: priority prefix, no time.
    public var journal: Bool

    public init(format: LogFormat, journal: Bool) {
        self.format = format
        self.journal = journal
    }

    /// The line for one entry, newline included. `time` is the wall clock at the call.
    public func render(time: timespec, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var out = journal ? "<\(Self.priority(level))>" : ""
        switch format {
        case .text:
            if !journal { out += Self.timestamp(time, utc: false) + " " }
            out += "\(level.rawValue) \(label): " + Self.escapedText(message)
            for key in metadata.keys.sorted() {
                out += " " + Self.textKey(key) + "=" + Self.textValue(metadata[key]!)
            }
        case .json:
            out += #"{"time":"# + JSONString.literal(Self.timestamp(time, utc: true))
            out += #","level":"# + JSONString.literal(level.rawValue)
            out += #","label":"# + JSONString.literal(label)
            out += #","message":"# + JSONString.literal(message)
            out += #","metadata":"# + Self.jsonValue(.dictionary(metadata)) + "}"
        }
        return out + "\n"
    }

    /// syslog priorities (sd-daemon.h): swift-log's trace and debug are both LOG_DEBUG.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// RFC 3339 with milliseconds (truncated): `...T21:08:27.123Z` in UTC, or in local time
    /// with its offset (`+01:00`).
    public static func timestamp(_ t: timespec, utc: Bool) -> String {
        var seconds = t.tv_sec
        var parts = tm()
        if utc { gmtime_r(&seconds, &parts) } else { localtime_r(&seconds, &parts) }
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let ms = Int(t.tv_nsec / 1_000_000)
        var text = "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
        text += "." + (ms < 10 ? "00" : ms < 100 ? "0" : "") + "\(ms)"
        if utc { return text + "Z" }
        let offset = Int(parts.tm_gmtoff) / 60
        return text + (offset < 0 ? "-" : "+") + two(Int32(abs(offset) / 60)) + ":" + two(Int32(abs(offset) % 60))
    }

    // MARK: text

    /// A value as `key=value` shows it: bare when it has no space, quote, '=' or control
    /// character, else in double quotes with those escaped.
    static func textValue(_ v: Logger.MetadataValue) -> String {
        switch v {
        case .string(let s): quotedIfNeeded(s)
        case .stringConvertible(let c): quotedIfNeeded(c.description)
        case .array(let a): quotedIfNeeded("[" + a.map(plain).joined(separator: ", ") + "]")
        case .dictionary(let d): quotedIfNeeded("[" + d.keys.sorted().map { "\($0): \(plain(d[$0]!))" }.joined(separator: ", ") + "]")
        }
    }

    private static func plain(_ v: Logger.MetadataValue) -> String {
        switch v {
        case .string(let s): s
        case .stringConvertible(let c): c.description
        case .array(let a): "[" + a.map(plain).joined(separator: ", ") + "]"
        case .dictionary(let d): "[" + d.keys.sorted().map { "\($0): \(plain(d[$0]!))" }.joined(separator: ", ") + "]"
        }
    }

    static func textKey(_ key: String) -> String {
        let k = escapedText(key).map { $0 == " " || $0 == "=" ? "_" : $0 }
        return k.isEmpty ? "_" : String(k)
    }

    static func quotedIfNeeded(_ s: String) -> String {
        let bare = !s.isEmpty && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0 != "\"" && $0 != "=" && $0.value != 0x7f }
        if bare { return s }
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out += escapedScalar(u)
            }
        }
        return out + "\""
    }

    /// The message as is, but control characters as escapes (\n, \t, \u{1b}).
    static func escapedText(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: isControl) else { return s }
        var out = ""
        for u in s.unicodeScalars { out += escapedScalar(u) }
        return out
    }

    private static func isControl(_ u: Unicode.Scalar) -> Bool { u.value < 0x20 || u.value == 0x7f }

    private static func escapedScalar(_ u: Unicode.Scalar) -> String {
        switch u {
        case "\n": "\\n"
        case "\r": "\\r"
        case "\t": "\\t"
        default: isControl(u) ? "\\u{\(String(u.value, radix: 16))}" : String(u)
        }
    }

    // MARK: json


    /// Metadata as JSON: strings for strings and string-convertible values, arrays and objects
    /// (keys sorted) as they nest.
    static func jsonValue(_ v: Logger.MetadataValue) -> String {
        switch v {
        case .string(let s): JSONString.literal(s)
        case .stringConvertible(let c): JSONString.literal(c.description)
        case .array(let a): "[" + a.map(jsonValue).joined(separator: ",") + "]"
        case .dictionary(let d): "{" + d.keys.sorted().map { JSONString.literal($0) + ":" + jsonValue(d[$0]!) }.joined(separator: ",") + "}"
        }
    }
}
