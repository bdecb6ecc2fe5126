/// One thing `teamwire doctor` found: a sentence, and the fix when something is wrong.
/// `--json` prints an array of these with every key present (null where none), in a stable order.
public struct Finding: Codable, Sendable, Equatable {
    public enum Level: String, Codable, Sendable, Comparable, CaseIterable {
        case ok, warning, problem

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        var rank: Int { switch self { case .ok: 0; case .warning: 1; case .problem: 2 } }
    }

    /// Which check: `overlay.agent`, `overlay.path`, `overlay.mtu`, `ros.domain`, `machine-id`, ...
    public var check: String
    public var level: Level
    /// The member it is about, if one.
    public var member: String?
    public var message: String
    /// What to do; nil when nothing is wrong.
    public var fix: String?

    public init(_ check: String, _ level: Level, member: String? = nil, _ message: String, fix: String? = nil) {
        self.check = check
        self.level = level
        self.member = member
        self.message = message
        self.fix = fix
    }

    enum CodingKeys: String, CodingKey { case check, level, member, message, fix }

    /// Every key, null included: scripts read the same shape for every finding.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(check, forKey: .check)
        try c.encode(level, forKey: .level)
        try c.encode(member, forKey: .member)
        try c.encode(message, forKey: .message)
        try c.encode(fix, forKey: .fix)
    }

    /// The line `teamwire doctor` prints: level, sentence, and the fix on the next line.
    public var text: String {
        let tag = switch level { case .ok: "ok     "; case .warning: "warning"; case .problem: "problem" }
        return "\(tag)  \(message)" + (fix.map { "\n         fix: \($0)" } ?? "")
    }
}

extension Array where Element == Finding {
    /// The exit status: 1 when anything is a problem, else 0 (warnings included).
    public var exitStatus: Int32 { contains { $0.level == .problem } ? 1 : 0 }
}
