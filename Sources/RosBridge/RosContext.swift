import TeamwireCore

/// One member as the ROS outputs see it: a name, an overlay address and its role (robots run a
/// Zenoh router, laptops do not).
public struct RosMember: Sendable, Equatable, Hashable {
    public var name: String
    public var address: IPv4Address
    public var role: Role

    public init(name: String, address: IPv4Address, role: Role = .robot) {
        self.name = name
        self.address = address
        self.role = role
    }
}

/// Everything the ROS outputs are rendered from: this node, its team's map and where the files go.
/// Renderers are pure functions of this value: same context, same bytes.
public struct RosContext: Sendable, Equatable {
    public var team: String
    /// This node's name and overlay address.
    public var selfName: String
    public var selfAddress: IPv4Address
    /// This node's role: a robot runs a Zenoh router, a laptop is a client of the robots'.
    public var selfRole: Role
    /// Every member of the team, this node included, in any order (renderers sort by address).
    public var members: [RosMember]
    /// Name of the member that runs the ROS 1 master, if the team designated one.
    public var rosMaster: String?
    public var rosDomainID: Int
    /// The team's WireGuard interface (tw-TEAM) and its MTU.
    public var interfaceName: String
    public var mtu: Int
    /// Absolute directory the rendered files are written to (env variables point into it).
    public var directory: String
    /// How many DDS participants (ROS 2 processes) one member may run: the participant-index
    /// range CycloneDDS and Fast DDS probe on every peer.
    public var participantsPerHost: Int
    /// The team's ROS 2 discovery, its discovery server member (a name) and its RMW choice.
    public var rosDiscovery: RosDiscovery
    public var discoveryServer: String?
    public var rmwImplementation: String?

    public init(team: String, selfName: String, selfAddress: IPv4Address, members: [RosMember], rosMaster: String?,
                rosDomainID: Int, interfaceName: String, mtu: Int, directory: String, participantsPerHost: Int = 32,
                selfRole: Role = .robot, rosDiscovery: RosDiscovery = .peers, discoveryServer: String? = nil, rmwImplementation: String? = nil) {
        self.rosDiscovery = rosDiscovery
        self.discoveryServer = discoveryServer
        self.rmwImplementation = rmwImplementation
        self.team = team
        self.selfName = selfName
        self.selfAddress = selfAddress
        self.selfRole = selfRole
        self.members = members
        self.rosMaster = rosMaster
        self.rosDomainID = rosDomainID
        self.interfaceName = interfaceName
        self.mtu = mtu
        self.directory = directory
        self.participantsPerHost = participantsPerHost
    }
}

/// One rendered output file: its name inside `RosContext.directory` and its bytes.
public struct RenderedFile: Sendable, Equatable {
    public var name: String
    public var contents: String

    public init(name: String, contents: String) {
        self.name = name
        self.contents = contents
    }
}
