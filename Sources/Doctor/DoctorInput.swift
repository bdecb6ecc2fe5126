import TeamwireCore

/// Everything `teamwire doctor` looked at, gathered by the command (the agent's status, probes,
/// files, the caller's environment), so that the findings are a pure function of it.
public struct DoctorInput: Sendable {
    /// The team, as the agent reports it; nil when the agent could not be asked or has no such team.
    public var team: TeamStatus?
    /// Why the agent could not be asked, or why there is no team (one sentence); nil when `team` is set.
    public var agentProblem: String?
    /// Whether the team's interface exists and is up (nil: not looked at).
    public var interfaceUp: Bool?
    /// The interface's MTU (nil: unknown).
    public var interfaceMTU: Int?
    public var nowMillis: Int64
    /// The path MTU probes, by member name (members not probed are absent).
    public var pathMTU: [String: PathMTU]
    /// The caller's environment.
    public var environment: [String: String]
    /// The team's ros.env: the variables it sets, and the file's path; nil when it could not be read.
    public var teamEnvironment: [String: String]?
    public var teamEnvironmentPath: String
    /// The team whose ros.env was read (it names the team when the agent could not be asked).
    public var teamName: String?
    /// Why ros.env could not be read, when it could not.
    public var teamEnvironmentProblem: String?
    /// DDS profile files the caller's variables point at instead of the team's: path -> text (nil: unreadable).
    public var otherProfiles: [String: String?]
    /// Whether the ROS 1 master answered a TCP connect on 11311 (nil: no master, or not tried).
    public var rosMasterReachable: Bool?
    /// Canary round trips in microseconds by member name (nil value: no answer); nil: not asked for.
    public var canary: [String: Int64?]?

    public init(team: TeamStatus? = nil, agentProblem: String? = nil, interfaceUp: Bool? = nil, interfaceMTU: Int? = nil, nowMillis: Int64,
                pathMTU: [String: PathMTU] = [:], environment: [String: String] = [:], teamEnvironment: [String: String]? = nil,
                teamEnvironmentPath: String = "ros.env", teamEnvironmentProblem: String? = nil, otherProfiles: [String: String?] = [:],
                rosMasterReachable: Bool? = nil, canary: [String: Int64?]? = nil) {
        self.team = team
        self.agentProblem = agentProblem
        self.interfaceUp = interfaceUp
        self.interfaceMTU = interfaceMTU
        self.nowMillis = nowMillis
        self.pathMTU = pathMTU
        self.environment = environment
        self.teamEnvironment = teamEnvironment
        self.teamEnvironmentPath = teamEnvironmentPath
        self.teamEnvironmentProblem = teamEnvironmentProblem
        self.otherProfiles = otherProfiles
        self.rosMasterReachable = rosMasterReachable
        self.canary = canary
    }
}

/// What the DF probes through the tunnel to one member showed.
public struct PathMTU: Sendable, Equatable {
    /// The IP packet size a full probe had (the interface MTU).
    public var full: Int
    /// The largest IP packet size that came back, nil when none did.
    public var largestPassing: Int?

    public init(full: Int, largestPassing: Int?) {
        self.full = full
        self.largestPassing = largestPassing
    }
}
