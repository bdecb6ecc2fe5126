/// The admin API's JSON, spoken over the coordinator's Unix socket. These are also the documented,
/// stable `--json` shapes of the CLI listings.

public struct CreateTeamRequest: Codable, Sendable, Equatable {
    public var name: String
    public var prefix: IPv4Prefix?
    public var mode: PathMode?
    public var rosDomainID: Int?
    public var rosDiscovery: RosDiscovery?
    public var rmwImplementation: String?

    public init(name: String, prefix: IPv4Prefix? = nil, mode: PathMode? = nil, rosDomainID: Int? = nil,
                rosDiscovery: RosDiscovery? = nil, rmwImplementation: String? = nil) {
        self.name = name
        self.prefix = prefix
        self.mode = mode
        self.rosDomainID = rosDomainID
        self.rosDiscovery = rosDiscovery
        self.rmwImplementation = rmwImplementation
    }
}

public struct TeamInfo: Codable, Sendable, Equatable {
    public var name: String
    public var prefix: IPv4Prefix
    public var mode: PathMode
    public var rosDomainID: Int
    public var rosMaster: String?
    public var hubAddress: IPv4Address
    public var members: Int
    public var revision: UInt64
    public var createdAt: Int64
    /// The team's ROS 2 settings (nil from a coordinator older than them: peers, no RMW choice).
    public var rosDiscovery: RosDiscovery?
    public var discoveryServer: String?
    public var rmwImplementation: String?

    public init(name: String, prefix: IPv4Prefix, mode: PathMode, rosDomainID: Int, rosMaster: String? = nil, hubAddress: IPv4Address, members: Int, revision: UInt64, createdAt: Int64,
                rosDiscovery: RosDiscovery? = nil, discoveryServer: String? = nil, rmwImplementation: String? = nil) {
        self.rosDiscovery = rosDiscovery
        self.discoveryServer = discoveryServer
        self.rmwImplementation = rmwImplementation
        self.name = name
        self.prefix = prefix
        self.mode = mode
        self.rosDomainID = rosDomainID
        self.rosMaster = rosMaster
        self.hubAddress = hubAddress
        self.members = members
        self.revision = revision
        self.createdAt = createdAt
    }
}

public struct CreateTokenRequest: Codable, Sendable, Equatable {
    /// Number of enrolments allowed; nil with `reusable` true for unlimited.
    public var uses: Int?
    public var reusable: Bool?
    public var expiresInSeconds: Int64?
    public var role: Role?

    public init(uses: Int? = nil, reusable: Bool? = nil, expiresInSeconds: Int64? = nil, role: Role? = nil) {
        self.uses = uses
        self.reusable = reusable
        self.expiresInSeconds = expiresInSeconds
        self.role = role
    }

    public static let defaultExpirySeconds: Int64 = 86400
    public static let maxExpirySeconds: Int64 = 366 * 86400
    public static let maxUses = 100_000
}

public struct TokenInfo: Codable, Sendable, Equatable {
    public var id: TokenID
    public var team: String
    public var role: Role
    /// nil for a reusable token.
    public var maxUses: Int?
    public var uses: Int
    public var expiresAt: Int64
    public var revokedAt: Int64?
    public var createdAt: Int64
    /// "active", "expired", "revoked" or "used-up", as of the listing.
    public var state: String

    public init(id: TokenID, team: String, role: Role, maxUses: Int? = nil, uses: Int, expiresAt: Int64, revokedAt: Int64? = nil, createdAt: Int64, state: String) {
        self.id = id
        self.team = team
        self.role = role
        self.maxUses = maxUses
        self.uses = uses
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.createdAt = createdAt
        self.state = state
    }
}

public struct CreatedToken: Codable, Sendable, Equatable {
    public var info: TokenInfo
    /// The token to hand to a node. Shown once; only a hash of its secret is stored.
    public var token: String

    public init(info: TokenInfo, token: String) {
        self.info = info
        self.token = token
    }
}

public struct NodeInfo: Codable, Sendable, Equatable {
    public var team: String
    public var name: String
    public var publicKey: PublicKey
    public var address: IPv4Address
    public var role: Role
    public var endpoints: [Endpoint]
    public var observedEndpoint: Endpoint?
    public var enrolledAt: Int64
    /// Unix ms of the node's last authenticated request since the coordinator started; nil if none.
    public var lastSeen: Int64?
    public var rosMaster: Bool
    /// The hash of the node's machine id (`MachineID`), if it reported one.
    public var machineID: String?

    public init(team: String, name: String, publicKey: PublicKey, address: IPv4Address, role: Role, endpoints: [Endpoint], observedEndpoint: Endpoint? = nil, enrolledAt: Int64, lastSeen: Int64? = nil, rosMaster: Bool,
                machineID: String? = nil) {
        self.team = team
        self.name = name
        self.publicKey = publicKey
        self.address = address
        self.role = role
        self.endpoints = endpoints
        self.observedEndpoint = observedEndpoint
        self.enrolledAt = enrolledAt
        self.lastSeen = lastSeen
        self.rosMaster = rosMaster
        self.machineID = machineID
    }
}

public struct SetRosMasterRequest: Codable, Sendable, Equatable {
    public var name: String
    public init(name: String) { self.name = name }
}

/// `PUT /v1/teams/:team/settings`: the fields given change, the others stay.
public struct SetTeamSettingsRequest: Codable, Sendable, Equatable {
    public var rosDiscovery: RosDiscovery?
    /// A member's name.
    public var discoveryServer: String?
    /// An RMW implementation name, or "none" to leave it to each user again.
    public var rmwImplementation: String?

    public init(rosDiscovery: RosDiscovery? = nil, discoveryServer: String? = nil, rmwImplementation: String? = nil) {
        self.rosDiscovery = rosDiscovery
        self.discoveryServer = discoveryServer
        self.rmwImplementation = rmwImplementation
    }
}

public struct AuditEvent: Codable, Sendable, Equatable {
    public var id: Int64
    public var time: Int64
    /// Who acted: "admin:USER", "node:NAME", or "token:ID" for an enrolment attempt.
    public var actor: String
    public var team: String?
    /// e.g. team.create, token.create, token.revoke, node.enroll, node.remove, node.leave, team.ros-master, team.settings
    public var action: String
    public var subject: String?
    /// "ok" or the error code of a refusal.
    public var outcome: String
    public var detail: String?

    public init(id: Int64, time: Int64, actor: String, team: String? = nil, action: String, subject: String? = nil, outcome: String, detail: String? = nil) {
        self.id = id
        self.time = time
        self.actor = actor
        self.team = team
        self.action = action
        self.subject = subject
        self.outcome = outcome
        self.detail = detail
    }
}

public struct CoordinatorInfo: Codable, Sendable, Equatable {
    public var publicKey: PublicKey
    public var endpoints: [Endpoint]
    public var version: String

    public init(publicKey: PublicKey, endpoints: [Endpoint], version: String) {
        self.publicKey = publicKey
        self.endpoints = endpoints
        self.version = version
    }
}

/// Live counters of a running coordinator (`GET /v1/stats` on the admin socket).
public struct CoordinatorStats: Codable, Sendable, Equatable {
    public var teams: Int
    public var members: Int
    /// Long polls parked waiting for a change.
    public var waitingPolls: Int

    public init(teams: Int, members: Int, waitingPolls: Int) {
        self.teams = teams
        self.members = members
        self.waitingPolls = waitingPolls
    }
}

/// A plain (unsealed) error body: `{"error": {"code": ..., "message": ...}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public var error: APIError
    public init(_ e: APIError) { self.error = e }
}
