/// `teamwire ping NAME`: the agent sends one ICMP echo per request through the team's interface
/// and says which path it took; the CLI asks once a second, COUNT times, and prints each answer.

/// One probe to a member (POST /v1/ping on the agent's socket).
public struct PingRequest: Codable, Sendable, Equatable {
    /// The team; nil: the one team with a member of that name.
    public var team: String?
    public var name: String
    /// The echo's sequence number (0...65535), printed back as `seq=`.
    public var sequence: Int
    /// How long to wait for the answer, in milliseconds (`timeoutRange`).
    public var timeoutMillis: Int
    /// Bytes of ICMP payload (the IP packet is 28 bytes more); nil: the smallest (24).
    public var payloadSize: Int?
    /// Set DF and let the kernel refuse what exceeds the path MTU (IP_PMTUDISC_DO): a path MTU probe.
    public var dontFragment: Bool?

    public static let sequenceRange = 0...65535
    public static let timeoutRange = 100...10_000
    /// The probe carries a 24-byte tag; 9000 covers jumbo frames.
    public static let payloadRange = 24...9000

    public init(team: String?, name: String, sequence: Int, timeoutMillis: Int, payloadSize: Int? = nil, dontFragment: Bool? = nil) {
        self.team = team
        self.name = name
        self.sequence = sequence
        self.timeoutMillis = timeoutMillis
        self.payloadSize = payloadSize
        self.dontFragment = dontFragment
    }

    /// What is wrong with the numbers, in a sentence; nil if nothing.
    public var numberProblem: String? {
        if !Self.sequenceRange.contains(sequence) { return "sequence must be 0...65535" }
        if !Self.timeoutRange.contains(timeoutMillis) { return "timeoutMillis must be 100...10000" }
        if let p = payloadSize, !Self.payloadRange.contains(p) { return "payloadSize must be 24...9000" }
        return nil
    }
}

public struct PingReply: Codable, Sendable, Equatable {
    public var team: String
    public var name: String
    public var address: IPv4Address
    public var interface: String
    public var sequence: Int
    /// The path the probe was sent on: to the member's own endpoint, or through the hub.
    public var path: Path
    /// Where it went: the member's endpoint when direct, the hub's when relayed (nil: none known yet).
    public var endpoint: Endpoint?
    /// The round trip in microseconds; nil when no answer came within the timeout.
    public var rttMicros: Int64?
    /// The ICMP payload bytes sent.
    public var payloadSize: Int?
    /// True when this host refused to send it whole with DF set (larger than the interface's or
    /// the learnt path MTU): it never left.
    public var tooBig: Bool?

    public init(team: String, name: String, address: IPv4Address, interface: String, sequence: Int, path: Path, endpoint: Endpoint?, rttMicros: Int64?,
                payloadSize: Int? = nil, tooBig: Bool? = nil) {
        self.team = team
        self.name = name
        self.address = address
        self.interface = interface
        self.sequence = sequence
        self.path = path
        self.endpoint = endpoint
        self.rttMicros = rttMicros
        self.payloadSize = payloadSize
        self.tooBig = tooBig
    }
}

/// The member a ping goes to, found by name in the agent's status.
public struct PingTarget: Sendable, Equatable {
    public var team: String
    public var name: String
    public var address: IPv4Address
    public var interface: String
    public var path: Path
    public var endpoint: Endpoint?

    /// The member called `name` in `team` (or in the one joined team that has it). Errors are
    /// one sentence, and an unknown name lists the members there are.
    public static func resolve(_ status: AgentStatus, team: String?, name: String) -> Result<PingTarget, APIError> {
        if status.teams.isEmpty { return .failure(APIError(.notFound, "not joined to any team (teamwire join TOKEN)")) }
        var teams = status.teams
        if let team {
            teams = teams.filter { $0.team == team }
            if teams.isEmpty {
                return .failure(APIError(.notFound, "not a member of team \(team) (joined: \(status.teams.map(\.team).joined(separator: ", ")))"))
            }
        }
        let found = teams.compactMap { t in t.members.first { $0.name == name }.map { (t, $0) } }
        guard let (t, m) = found.first else {
            if let own = teams.first(where: { $0.name == name }) { return .failure(APIError(.invalidArgument, "\(name) is this node (in team \(own.team))")) }
            func names(_ t: TeamStatus) -> String { t.members.isEmpty ? "no other member yet" : t.members.map(\.name).sorted().joined(separator: ", ") }
            if teams.count == 1 {
                return .failure(APIError(.notFound, "no member named \(name) in team \(teams[0].team) (members: \(names(teams[0])))"))
            }
            return .failure(APIError(.notFound, "no member named \(name) in any team (\(teams.map { "\($0.team): \(names($0))" }.joined(separator: "; ")))"))
        }
        if found.count > 1 {
            return .failure(APIError(.invalidArgument, "\(name) is a member of teams \(found.map(\.0.team).sorted().joined(separator: " and ")): pass --team"))
        }
        return .success(PingTarget(team: t.team, name: m.name, address: m.address, interface: t.interface, path: m.path,
                                   endpoint: m.path == .direct ? m.peer.endpoint : t.hub.endpoint))
    }
}
