import TeamwireCore

/// The names a member's agent publishes on its own Avahi daemon: WireGuard carries no multicast,
/// so each member announces the whole team to its local resolvers (nss-mdns, avahi-resolve).
public enum MDNSNames {
    /// NAME.local and NAME.TEAM.local for every member (the team-qualified form cannot collide
    /// with a real host of the same name on the LAN), in roster order, and the ROS master as a
    /// `_ros-master._tcp` service when the team has one that is a member.
    public static func records(_ c: RosContext) -> MDNSRecords {
        var hosts: [MDNSHost] = []
        // Only DNS labels make host names (a "." or space in a name would publish another name).
        for m in c.roster where Names.isValidLabel(m.name) && Names.isValidLabel(c.team) {
            hosts.append(MDNSHost(name: "\(m.name).local", address: m.address))
            hosts.append(MDNSHost(name: "\(m.name).\(c.team).local", address: m.address))
        }
        var services: [MDNSService] = []
        if let master = c.masterMember, Names.isValidLabel(master.name), Names.isValidLabel(c.team) {
            let port = UInt16(RosEnvironment.rosMasterPort)
            services.append(MDNSService(
                name: "ROS master (\(c.team))", type: "_ros-master._tcp", host: "\(master.name).\(c.team).local",
                port: port, txt: ["team=\(c.team)", "uri=http://\(master.address):\(port)"]))
        }
        return MDNSRecords(hosts: hosts, services: services)
    }
}
