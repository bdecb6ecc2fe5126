import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore

extension IntegrationTests {
    /// `teamwire team create --ros-discovery/--rmw`, `team set` and `team list` with the real
    /// binary against a real coordinator process.
    @Suite("Command line: team ROS 2 settings")
    struct TeamSetCLITests {
        @Test func teamSetEndToEnd() async throws {
            let dir = makeTempDir()
            let proc = try CoordinatorProcess(dir: dir, port: freePort())
            defer { proc.terminate() }
            try await proc.waitReady()
            let s = ["--state", dir]

            var r = try await runCLI(["team", "create", "iris", "--ros-discovery", "server", "--rmw", "rmw_cyclonedds_cpp"] + s)
            #expect(r.status == 0, "\(r.err)")
            r = try await runCLI(["token", "create", "iris"] + s)
            let token = try EnrolmentToken(parsing: r.out)
            _ = try await NodeClient(token: token, privateKey: .generate()).enroll(token: token, name: "robot1")

            r = try await runCLI(["team", "list"] + s)
            #expect(r.out.contains("DISCOVERY") && r.out.contains("RMW") && r.out.contains("server (none yet)") && r.out.contains("rmw_cyclonedds_cpp"), "\(r.out)")
            r = try await runCLI(["team", "set", "iris", "--discovery-server", "robot1", "--rmw", "none"] + s)
            #expect(r.status == 0 && r.out == "team iris: ROS discovery server (robot1), RMW_IMPLEMENTATION left to each user\n", "\(r.out)\(r.err)")
            r = try await runCLI(["team", "list", "--json"] + s)
            let t = try #require(try JSONDecoder().decode([TeamInfo].self, from: Data(r.out.utf8)).first)
            #expect(t.rosDiscovery == .server && t.discoveryServer == "robot1" && t.rmwImplementation == nil)
            #expect(r.out.contains(#""rosDiscovery" : "server""#) && r.out.contains(#""discoveryServer" : "robot1""#), "\(r.out)")
            r = try await runCLI(["team", "set", "iris", "--ros-discovery", "peers", "--json"] + s)
            #expect(try JSONDecoder().decode(TeamInfo.self, from: Data(r.out.utf8)).rosDiscovery == .peers)

            // Refused before anything is sent, or by the coordinator, each with a clear message.
            for (args, message) in [
                (["team", "set", "iris"], "nothing to change"),
                (["team", "set", "iris", "--rmw", "rmw_x;reboot"], "--rmw 'rmw_x;reboot' has the character"),
                (["team", "set", "iris", "--ros-discovery", "multicast"], "--ros-discovery must be peers or server"),
                (["team", "set", "iris", "--discovery-server", "Robot1"], "has uppercase letters"),
                (["team", "set", "iris", "--discovery-server", "ghost"], "no node named 'ghost'"),
                (["team", "set", "nope", "--rmw", "rmw_zenoh_cpp"], "no team named 'nope'"),
                (["team", "create", "atlas", "--rmw", "none"], "--rmw 'none' does not start with rmw_"),
            ] {
                r = try await runCLI(args + s)
                #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
            }
            r = try await runCLI(["team", "set", "--help"])
            #expect(r.out.contains("--ros-discovery") && r.out.contains("--discovery-server") && r.out.contains("ROS_SUPER_CLIENT=TRUE"), "\(r.out)")
            r = try await runCLI(["team", "list", "--json"] + s)
            #expect(try JSONDecoder().decode([TeamInfo].self, from: Data(r.out.utf8)).map(\.name) == ["iris"])
        }
    }
}
