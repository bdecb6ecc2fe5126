/// Where the agent keeps its state, shared by the agent (TeamStore) and its clients (the CLI,
/// `teamwire ros env`). The directory (default /var/lib/teamwire, mode 0711: others may pass
/// through to ros/, never list or read the rest):
///   agent.sock                0600, or 0660 root:teamwire when that group exists (--socket-group)
///   agent.lock                0600
///   teams/                    0700
///   teams/TEAM/private.key    the node's WireGuard key for TEAM, base64, 0600, never sent
///   teams/TEAM/enrolment.json who the node is in TEAM and where the coordinator is
///   teams/TEAM/map.json       the last team map (a full MapUpdate), rewritten atomically
///   teams/TEAM/contact        when the coordinator last answered (Unix ms), for status after a reboot
///   ros/TEAM/                 0755, the ROS outputs (ros.env, cyclonedds.xml, fastdds.xml,
///                             hosts), 0644: ROS runs as an ordinary user and must read them
/// A key belongs to one team (the coordinator keys membership by it), so each team has its own.
public struct AgentStateDirectory: Sendable, Equatable {
    public let root: String

    public init(root: String) { self.root = root }

    public static let defaultRoot = "/var/lib/teamwire"
    /// The group agent.sock is shared with when it exists.
    public static let defaultSocketGroup = "teamwire"

    public var socketPath: String { root + "/agent.sock" }
    public var lockPath: String { root + "/agent.lock" }
    public var teamsDir: String { root + "/teams" }
    public func teamDir(_ team: String) -> String { teamsDir + "/" + team }
    public var rosRoot: String { root + "/ros" }
    public func rosDir(_ team: String) -> String { rosRoot + "/" + team }
}
