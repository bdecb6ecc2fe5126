/// The agent's local API (JSON over the Unix socket in its state directory), used by
/// `teamwire join`, `status` and `leave`. `teamwire status --json` prints `AgentStatus`.
///   POST /v1/join   JoinRequest  -> TeamStatus
///   GET  /v1/status                -> AgentStatus
///   POST /v1/leave  LeaveRequest -> LeaveReply
///   POST /v1/ping   PingRequest  -> PingReply   (one probe; see PingMessages.swift)
///
/// A join whose enrolment got no authoritative answer fails with one of the two codes below;
/// `teamwire join` asks again (the same request) until the coordinator answers or --wait ends.
extension ErrorCode {
    /// No endpoint of the coordinator could be reached: it holds nothing new for this node.
    public static let coordinatorUnreachable = ErrorCode("coordinator_unreachable")
    /// The coordinator had the request but its answer never came: it may have enrolled the node,
    /// whose key the agent keeps, so that asking again (same key, same token) finishes the join.
    public static let coordinatorNoAnswer = ErrorCode("coordinator_no_answer")
}

public struct JoinRequest: Codable, Sendable, Equatable {
    /// The enrolment token text (`twt1-...`).
    public var token: String
    public var name: String

    public init(token: String, name: String) {
        self.token = token
        self.name = name
    }
}

public struct LeaveRequest: Codable, Sendable, Equatable {
    public var team: String
    public init(team: String) { self.team = team }
}

public struct LeaveReply: Codable, Sendable, Equatable {
    public var team: String
    /// False when the coordinator could not be told (the node stays listed there until an admin removes it).
    public var coordinatorNotified: Bool
    public var message: String?

    public init(team: String, coordinatorNotified: Bool, message: String? = nil) {
        self.team = team
        self.coordinatorNotified = coordinatorNotified
        self.message = message
    }
}

public struct AgentStatus: Codable, Sendable, Equatable {
    public var version: String
    public var teams: [TeamStatus]

    public init(version: String, teams: [TeamStatus]) {
        self.version = version
        self.teams = teams
    }
}

public struct TeamStatus: Codable, Sendable, Equatable {
    public var team: String
    public var name: String
    public var address: IPv4Address
    public var prefix: IPv4Prefix
    public var interface: String
    /// `kernel` or `userspace`.
    public var backend: String
    public var listenPort: UInt16
    public var mode: PathMode
    public var revision: UInt64
    /// Unix ms of the last answer from the coordinator; nil if none since the agent started.
    public var coordinatorContact: Int64?
    /// Why the coordinator is not answering, when it is not.
    public var coordinatorError: String?
    public var hub: PeerStatus
    public var members: [MemberStatus]
    /// The Fast DDS discovery server this node's agent runs for the team, if it is the designated one.
    public var discoveryServer: DiscoveryServerStatus?
    /// The hash of this node's machine id (`MachineID`); nil when it has none.
    public var machineID: String?

    public init(team: String, name: String, address: IPv4Address, prefix: IPv4Prefix, interface: String, backend: String, listenPort: UInt16,
                mode: PathMode, revision: UInt64, coordinatorContact: Int64?, coordinatorError: String?, hub: PeerStatus, members: [MemberStatus],
                discoveryServer: DiscoveryServerStatus? = nil, machineID: String? = nil) {
        self.discoveryServer = discoveryServer
        self.team = team
        self.name = name
        self.address = address
        self.prefix = prefix
        self.interface = interface
        self.backend = backend
        self.listenPort = listenPort
        self.mode = mode
        self.revision = revision
        self.coordinatorContact = coordinatorContact
        self.coordinatorError = coordinatorError
        self.hub = hub
        self.members = members
        self.machineID = machineID
    }

    /// Members this node can reach: directly, or through a hub that answered.
    public var reachableCount: Int { members.filter(\.reachable).count }
}

/// What WireGuard reports about one peer.
public struct PeerStatus: Codable, Sendable, Equatable {
    public var endpoint: Endpoint?
    /// Unix ms of the latest handshake, nil if none.
    public var latestHandshake: Int64?
    public var rxBytes: UInt64
    public var txBytes: UInt64

    public init(endpoint: Endpoint? = nil, latestHandshake: Int64? = nil, rxBytes: UInt64 = 0, txBytes: UInt64 = 0) {
        self.endpoint = endpoint
        self.latestHandshake = latestHandshake
        self.rxBytes = rxBytes
        self.txBytes = txBytes
    }
}

public struct MemberStatus: Codable, Sendable, Equatable {
    public var name: String
    public var address: IPv4Address
    public var role: Role
    public var path: Path
    public var reachable: Bool
    public var peer: PeerStatus
    /// The hash of the member's machine id as the coordinator has it (`MachineID`).
    public var machineID: String?

    public init(name: String, address: IPv4Address, role: Role, path: Path, reachable: Bool, peer: PeerStatus, machineID: String? = nil) {
        self.name = name
        self.address = address
        self.role = role
        self.path = path
        self.reachable = reachable
        self.peer = peer
        self.machineID = machineID
    }
}

/// The WireGuard interface a team gets on a node: `tw-TEAM`, or for names too long for
/// Linux's 15 characters, a prefix plus a hash so two long team names never collide.
public func teamInterfaceName(_ team: String) -> String {
    if team.utf8.count <= 12 { return "tw-" + team }
    var h: UInt32 = 2_166_136_261
    for b in team.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
    let hex = String(h & 0xFFFF, radix: 16)
    return "tw-" + team.prefix(7) + "-" + String(repeating: "0", count: 4 - hex.count) + hex
}

/// The discovery server process the agent supervises for a team.
public struct DiscoveryServerStatus: Codable, Sendable, Equatable {
    /// `running`, or `failed` (it exited or could not start; restarted after a pause).
    public var state: String
    /// Where clients reach it: the overlay address and port.
    public var locator: String
    public var pid: Int32?
    /// How many times it was restarted after exiting.
    public var restarts: Int
    /// Why it is not running, when it is not.
    public var error: String?

    public init(state: String, locator: String, pid: Int32? = nil, restarts: Int = 0, error: String? = nil) {
        self.state = state
        self.locator = locator
        self.pid = pid
        self.restarts = restarts
        self.error = error
    }
}
