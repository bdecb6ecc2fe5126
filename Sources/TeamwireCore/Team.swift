/// How traffic between two members travels.
public enum PathMode: String, Codable, Sendable, CaseIterable {
    /// Direct when a handshake completes, else through the hub.
    case auto
    /// Always direct (no relay fallback).
    case direct
    /// Always through the hub.
    case relay
}

public enum Role: String, Codable, Sendable, CaseIterable {
    case robot
    case laptop
}

/// Team-wide settings every member receives with the map.
public struct TeamSettings: Codable, Sendable, Equatable {
    public var name: String
    public var prefix: IPv4Prefix
    public var mode: PathMode
    public var rosDomainID: Int
    /// Name of the member that runs the ROS 1 master, if one was designated.
    public var rosMaster: String?
    /// How ROS 2 (Fast DDS) participants discover each other: unicast peers, or the team's discovery server.
    public var rosDiscovery: RosDiscovery
    /// Name of the member whose agent runs the Fast DDS discovery server, if one was designated.
    public var discoveryServer: String?
    /// RMW_IMPLEMENTATION for every member, if the team chose one (else each user's own choice).
    public var rmwImplementation: String?

    public init(name: String, prefix: IPv4Prefix, mode: PathMode, rosDomainID: Int, rosMaster: String? = nil,
                rosDiscovery: RosDiscovery = .peers, discoveryServer: String? = nil, rmwImplementation: String? = nil) {
        self.name = name
        self.prefix = prefix
        self.mode = mode
        self.rosDomainID = rosDomainID
        self.rosMaster = rosMaster
        self.rosDiscovery = rosDiscovery
        self.discoveryServer = discoveryServer
        self.rmwImplementation = rmwImplementation
    }

    /// Maps cached by older agents, and sent by older coordinators, lack the ROS 2 settings: they
    /// mean peers and no middleware choice. An unknown discovery mode (a newer coordinator) too.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        prefix = try c.decode(IPv4Prefix.self, forKey: .prefix)
        mode = try c.decode(PathMode.self, forKey: .mode)
        rosDomainID = try c.decode(Int.self, forKey: .rosDomainID)
        rosMaster = try c.decodeIfPresent(String.self, forKey: .rosMaster)
        rosDiscovery = (try? c.decodeIfPresent(String.self, forKey: .rosDiscovery)).flatMap { $0.flatMap(RosDiscovery.init) } ?? .peers
        discoveryServer = try c.decodeIfPresent(String.self, forKey: .discoveryServer)
        rmwImplementation = try c.decodeIfPresent(String.self, forKey: .rmwImplementation)
    }

    /// ROS 2 domain ids that are safe on Linux for any participant count (0-101); 0 is what
    /// every lab uses by default, so teams get ids from 1 up.
    public static let rosDomainIDs = 0...101
}

/// One member of a team as every other member sees it.
public struct Member: Codable, Sendable, Equatable {
    public var name: String
    public var publicKey: PublicKey
    public var address: IPv4Address
    public var role: Role
    /// Endpoint candidates the node reported (its local addresses and WireGuard port).
    public var endpoints: [Endpoint]
    /// The outside address the coordinator saw the node's last report come from, with its WireGuard port.
    public var observedEndpoint: Endpoint?
    /// The hash of the node's /etc/machine-id (`MachineID`); nil from agents that do not report one.
    public var machineID: String?

    public init(name: String, publicKey: PublicKey, address: IPv4Address, role: Role, endpoints: [Endpoint] = [], observedEndpoint: Endpoint? = nil,
                machineID: String? = nil) {
        self.name = name
        self.publicKey = publicKey
        self.address = address
        self.role = role
        self.endpoints = endpoints
        self.observedEndpoint = observedEndpoint
        self.machineID = machineID
    }

    /// Every candidate, observed first (it is the one that crosses NAT), without duplicates.
    public var endpointCandidates: [Endpoint] {
        var seen = Set<Endpoint>()
        return ([observedEndpoint].compactMap { $0 } + endpoints).filter { seen.insert($0).inserted }
    }
}

/// The coordinator as every member's hub peer: its key, its overlay address, and where to reach it.
public struct HubPeer: Codable, Sendable, Equatable {
    public var publicKey: PublicKey
    public var address: IPv4Address
    public var endpoints: [Endpoint]

    public init(publicKey: PublicKey, address: IPv4Address, endpoints: [Endpoint]) {
        self.publicKey = publicKey
        self.address = address
        self.endpoints = endpoints
    }
}
