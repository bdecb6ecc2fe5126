import ArgumentParser
import CoordinatorClient
import TeamwireCore

extension TeamCommand {
    /// `teamwire team set`: the team's ROS 2 settings, live on every member.
    struct SetSettings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set",
            abstract: "Change a team's ROS 2 settings: discovery (peers or a Fast DDS discovery server) and RMW_IMPLEMENTATION.",
            discussion: """
                Every member gets the change within a second: its ros.env and DDS files are rewritten, and processes started afterwards use them.

                --ros-discovery peers (the default): every member lists every other one (ROS_STATIC_PEERS, the CycloneDDS and Fast DDS files). No extra process; fine for small teams. ROS 2 reads at most 32 static peers, and every participant sends discovery to every other one.

                --ros-discovery server: Fast DDS participants become clients of one discovery server (ROS_DISCOVERY_SERVER), run by the agent of the member named with --discovery-server (it needs fast-discovery-server, or see teamwire agent --help). For teams past 32 members, or where discovery traffic floods the radio. Until a server member is named, members stay on peers. CycloneDDS and Zenoh keep their own files. CLI tools that must see the whole graph (ros2 topic list) run with ROS_SUPER_CLIENT=TRUE. Processes started before the server moves to another member keep their matches but discover nothing new until restarted.

                --rmw sets RMW_IMPLEMENTATION in every member's ros.env (rmw_fastrtps_cpp, rmw_cyclonedds_cpp, rmw_zenoh_cpp, rmw_connextdds, ...); --rmw none leaves it to each user again.
                """
        )
        @OptionGroup var options: AdminOptions
        @Argument(help: "The team.") var team: String
        @Option(name: .customLong("ros-discovery"), help: ArgumentHelp("peers or server.", valueName: "peers|server")) var rosDiscovery: String?
        @Option(name: .customLong("discovery-server"), help: ArgumentHelp("The member whose agent runs the Fast DDS discovery server.", valueName: "name"))
        var discoveryServer: String?
        @Option(name: .customLong("rmw"), help: ArgumentHelp("RMW_IMPLEMENTATION for every member, or none.", valueName: "name|none")) var rmw: String?
        @Flag(help: "Print the team as JSON.") var json = false

        func validate() throws {
            if let p = Names.labelProblem(team) { throw ValidationError("team name '\(team)' \(p)") }
            if rosDiscovery == nil, discoveryServer == nil, rmw == nil {
                throw ValidationError("nothing to change: give --ros-discovery, --discovery-server or --rmw")
            }
            if let d = discoveryServer, let p = Names.labelProblem(d) { throw ValidationError("--discovery-server '\(d)' \(p)") }
            try TeamCommand.validate(rosDiscovery: rosDiscovery, rmw: rmw, allowNone: true)
        }

        func run() async throws {
            let t = try await admin { () async throws(ClientError) in
                try await options.client.setTeamSettings(team: team, SetTeamSettingsRequest(
                    rosDiscovery: rosDiscovery.flatMap(RosDiscovery.init), discoveryServer: discoveryServer, rmwImplementation: rmw))
            }
            if json { Output.json(t); return }
            print("team \(t.name): ROS discovery \(TeamCommand.discoveryColumn(t)), RMW_IMPLEMENTATION \(t.rmwImplementation ?? "left to each user")")
        }
    }

    static func validate(rosDiscovery: String?, rmw: String?, allowNone: Bool) throws {
        if let d = rosDiscovery, RosDiscovery(rawValue: d) == nil { throw ValidationError("--ros-discovery must be peers or server (got '\(d)')") }
        if let r = rmw, !(allowNone && r == RmwName.none), let p = RmwName.problem(r) { throw ValidationError("--rmw '\(r)' \(p)") }
    }

    /// "peers", "server (robot1)" or "server (none yet)".
    static func discoveryColumn(_ t: TeamInfo) -> String {
        switch t.rosDiscovery ?? .peers {
        case .peers: "peers"
        case .server: "server (\(t.discoveryServer ?? "none yet"))"
        }
    }
}
