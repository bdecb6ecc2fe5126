import ArgumentParser
import CoordinatorClient
import TeamwireCore

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "List and remove nodes, and choose a team's ROS master.",
        subcommands: [List.self, Remove.self, SetRosMaster.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List enrolled nodes.")
        @OptionGroup var options: AdminOptions
        @Option(help: "Only this team's nodes.") var team: String?
        @Flag(help: "JSON output (an array of nodes).") var json = false

        func run() async throws {
            let nodes = try await admin { () async throws(ClientError) in try await options.client.listNodes(team: team) }
            if json { Output.json(nodes); return }
            // Nodes cloned from one image (the same machine id) within a team: Fast DDS 3 takes them for one host.
            var clones: [String: [String]] = [:]
            for (team, group) in Dictionary(grouping: nodes, by: \.team) {
                for names in MachineID.shared(group.map { (name: $0.name, hash: $0.machineID) }) {
                    for n in names { clones[team + "/" + n] = names.filter { $0 != n } }
                }
            }
            Output.table(["TEAM", "NAME", "ADDRESS", "ROLE", "ENDPOINT", "LAST-SEEN", "PUBLIC-KEY"], nodes.map {
                [$0.team, $0.name + ($0.rosMaster ? " (ros master)" : "") + (clones[$0.team + "/" + $0.name].map { " (same machine id as \($0.joined(separator: ", ")))" } ?? ""),
                 $0.address.description, $0.role.rawValue,
                 ($0.observedEndpoint ?? $0.endpoints.first)?.description ?? "-", Output.ago($0.lastSeen), $0.publicKey.base64Key]
            })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a node from its team: every member drops it, and its next request is refused.")
        @OptionGroup var options: AdminOptions
        @Argument var team: String
        @Argument var name: String

        func run() async throws {
            let n = try await admin { () async throws(ClientError) in try await options.client.removeNode(team: team, name: name) }
            print("removed \(n.name) (\(n.address)) from team \(n.team)")
        }
    }

    struct SetRosMaster: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-ros-master", abstract: "Make a node the team's ROS 1 master (ROS_MASTER_URI on every member).")
        @OptionGroup var options: AdminOptions
        @Argument var team: String
        @Argument var name: String

        func run() async throws {
            let t = try await admin { () async throws(ClientError) in try await options.client.setRosMaster(team: team, name: name) }
            print("team \(t.name): ROS master is now \(name)")
        }
    }
}
