/// An address record to publish: a full mDNS host name ("robot1.local") and an IPv4 address.
public struct MDNSHost: Sendable, Equatable, Hashable {
    public var name: String
    public var address: IPv4Address

    public init(name: String, address: IPv4Address) {
        self.name = name
        self.address = address
    }
}

/// A DNS-SD service to publish, e.g. the team's ROS master: `_ros-master._tcp` on port 11311 at
/// the master's published host name, with TXT strings like "team=alpha".
public struct MDNSService: Sendable, Equatable, Hashable {
    public var name: String
    public var type: String
    public var host: String
    public var port: UInt16
    public var txt: [String]

    public init(name: String, type: String, host: String, port: UInt16, txt: [String]) {
        self.name = name
        self.type = type
        self.host = host
        self.port = port
        self.txt = txt
    }
}

/// What one team publishes over mDNS. Publishing a new value replaces the previous one for that team.
public struct MDNSRecords: Sendable, Equatable {
    public var hosts: [MDNSHost]
    public var services: [MDNSService]

    public init(hosts: [MDNSHost] = [], services: [MDNSService] = []) {
        self.hosts = hosts
        self.services = services
    }
}
