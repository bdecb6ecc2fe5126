import ArgumentParser
import CoordinatorClient
import TeamwireCore

struct TeamCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "team",
        abstract: "Create, list and configure teams.",
        subcommands: [Create.self, List.self, SetSettings.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a team with its own overlay prefix.",
            discussion: "Without --cidr the team gets the next free /24 of 100.64.0.0/10. The hub takes the prefix's first usable address."
        )
        @OptionGroup var options: AdminOptions
        @Argument(help: "Team name: lowercase letters, digits and '-', up to 63 characters.") var name: String
        @Option(help: ArgumentHelp("Overlay prefix, /16 to /30, e.g. 100.80.0.0/24.", valueName: "cidr")) var cidr: String?
        @Option(help: "Path mode: auto (direct, else via the hub), direct or relay.") var mode: String = "auto"
        @Option(name: .customLong("ros-domain-id"), help: "ROS 2 domain id, 0-101 (default: the lowest one no other team uses, from 1).") var rosDomainID: Int?
        @Option(name: .customLong("ros-discovery"), help: ArgumentHelp("ROS 2 discovery: peers or server (see `teamwire team set --help`).", valueName: "peers|server"))
        var rosDiscovery: String = "peers"
        @Option(name: .customLong("rmw"), help: ArgumentHelp("RMW_IMPLEMENTATION for every member, e.g. rmw_fastrtps_cpp (default: each user's own choice).", valueName: "name"))
        var rmw: String?
        @Flag(help: "Print the created team as JSON.") var json = false

        func validate() throws {
            if let p = Names.labelProblem(name) { throw ValidationError("team name '\(name)' \(p)") }
            if let c = cidr, IPv4Prefix(c) == nil { throw ValidationError("--cidr '\(c)' is not an IPv4 prefix with no host bits set (e.g. 100.80.0.0/24)") }
            guard PathMode(rawValue: mode) != nil else { throw ValidationError("--mode must be auto, direct or relay") }
            try TeamCommand.validate(rosDiscovery: rosDiscovery, rmw: rmw, allowNone: false)
        }

        func run() async throws {
            let t = try await admin { () async throws(ClientError) in
                try await options.client.createTeam(CreateTeamRequest(name: name, prefix: cidr.flatMap(IPv4Prefix.init), mode: PathMode(rawValue: mode), rosDomainID: rosDomainID,
                                                                      rosDiscovery: RosDiscovery(rawValue: rosDiscovery), rmwImplementation: rmw))
            }
            if json { Output.json(t); return }
            print("created team \(t.name): prefix \(t.prefix), hub \(t.hubAddress), mode \(t.mode.rawValue), ROS domain \(t.rosDomainID)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List teams.")
        @OptionGroup var options: AdminOptions
        @Flag(help: "JSON output (an array of teams).") var json = false

        func run() async throws {
            let teams = try await admin { () async throws(ClientError) in try await options.client.listTeams() }
            if json { Output.json(teams); return }
            Output.table(["TEAM", "PREFIX", "HUB", "MODE", "ROS-DOMAIN", "ROS-MASTER", "DISCOVERY", "RMW", "MEMBERS", "REVISION"], teams.map {
                [$0.name, $0.prefix.description, $0.hubAddress.description, $0.mode.rawValue, "\($0.rosDomainID)", $0.rosMaster ?? "-",
                 TeamCommand.discoveryColumn($0), $0.rmwImplementation ?? "-", "\($0.members)", "\($0.revision)"]
            })
        }
    }
}

