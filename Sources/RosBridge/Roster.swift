import TeamwireCore

/// The team as every renderer sees it, so that all files agree on who is in it and in what order.
extension RosContext {
    /// Every member once, this node included even if the map lacks it, sorted by address (then
    /// name): the order of every list in every file, whatever order `members` came in.
    public var roster: [RosMember] {
        var all = Set(members)
        if !all.contains(where: { $0.address == selfAddress }) {
            all.insert(RosMember(name: selfName, address: selfAddress, role: selfRole))
        }
        return all.sorted { ($0.address, $0.name) < ($1.address, $1.name) }
    }

    /// One member per overlay address (the first by name if the map ever repeats one), this
    /// node included, sorted by address: the DDS peer lists.
    public var peers: [RosMember] {
        var seen = Set<IPv4Address>()
        return roster.filter { seen.insert($0.address).inserted }
    }

    /// The other members' distinct addresses, sorted.
    public var otherAddresses: [IPv4Address] { peers.map(\.address).filter { $0 != selfAddress } }

    /// The designated ROS 1 master, only if it is a current member (a removed master must not
    /// leave a ROS_MASTER_URI pointing at nobody).
    public var masterMember: RosMember? {
        guard let name = rosMaster else { return nil }
        return roster.first { $0.name == name }
    }

    /// `directory/name`, without a doubled slash.
    public func path(_ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    /// The participant-index range both DDS vendors probe on each peer, kept inside 1...120:
    /// a domain owns 250 ports (7400 + 250·domain), and index i uses ports 10 + 2i and 11 + 2i of
    /// them, so index 119 is the last that cannot collide with the next domain's ports.
    public var participantRange: Int { min(max(participantsPerHost, 1), 120) }
}
