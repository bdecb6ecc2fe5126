/// How a team's ROS 2 participants find each other across the overlay.
public enum RosDiscovery: String, Codable, Sendable, CaseIterable {
    /// Every member lists every other one (ROS_STATIC_PEERS and the DDS files): no extra process,
    /// but each participant talks to every other one, and ROS_STATIC_PEERS stops at 32 peers.
    case peers
    /// Fast DDS participants are clients of one discovery server, run by a member's agent.
    case server
}

/// The RMW_IMPLEMENTATION a team may set for its members.
public enum RmwName {
    public static let maxLength = 64

    /// Why `name` is not an RMW implementation name (rmw_ then lowercase letters, digits and '_',
    /// e.g. rmw_fastrtps_cpp, rmw_cyclonedds_cpp, rmw_zenoh_cpp, rmw_connextdds), or nil when it is.
    /// Strict: the value lands in a shell file every member sources.
    public static func problem(_ name: String) -> String? {
        if !name.hasPrefix("rmw_") { return "does not start with rmw_ (e.g. rmw_fastrtps_cpp, rmw_cyclonedds_cpp, rmw_zenoh_cpp)" }
        if name.utf8.count > maxLength { return "is longer than \(maxLength) characters" }
        if name.utf8.count == 4 { return "has nothing after rmw_" }
        for c in name.unicodeScalars {
            switch c {
            case "a"..."z", "0"..."9", "_": continue
            default: return "has the character \"\(c.escaped(asASCII: true))\" (allowed: a-z, 0-9 and '_')"
            }
        }
        if name.hasSuffix("_") { return "ends with '_'" }
        return nil
    }

    /// The word that clears the team's choice (`teamwire team set --rmw none`, and in the admin API).
    public static let none = "none"
}
