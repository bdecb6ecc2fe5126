@testable import Coordinator
import CoordinatorClient
import Foundation
import GRDB
import Testing
import TeamwireCore

extension IntegrationTests {
    /// `teamwire team set`: the team's ROS 2 discovery, discovery server member and RMW choice,
    /// over the real admin socket, stored in the real SQLite file, delivered by the long poll.
    @Suite("Team ROS 2 settings")
    struct TeamSettingsTests {
        @Test func createSetAndFollowTheMember() async throws {
            let tc = try await TestCoordinator.start(port: freePort())
            let created = try await tc.admin.createTeam(CreateTeamRequest(name: "iris", prefix: IPv4Prefix("100.80.0.0/24"), rosDiscovery: .server, rmwImplementation: "rmw_fastrtps_cpp"))
            #expect(created.rosDiscovery == .server && created.discoveryServer == nil && created.rmwImplementation == "rmw_fastrtps_cpp")
            try await tc.createTeam("atlas")
            let atlas = try #require(try await tc.admin.listTeams().first { $0.name == "atlas" })
            #expect(atlas.rosDiscovery == .peers && atlas.discoveryServer == nil && atlas.rmwImplementation == nil)
            let token = try await tc.token("iris", uses: 10)
            let k1 = PrivateKey.generate()
            let (_, r1) = try await tc.enroll(token, name: "robot1", key: k1)
            let (n2, r2) = try await tc.enroll(token, name: "robot2")
            #expect(r1.map.team.rosDiscovery == .server && r2.map.team.rmwImplementation == "rmw_fastrtps_cpp")

            // Live: a member's parked poll returns the change at once, as a new revision.
            let parked = Task { try await n2.map(since: r2.map.revision, wait: 30) }
            for _ in 0..<500 where tc.registry.waitingPolls < 1 { try await Task.sleep(for: .milliseconds(5)) }
            let start = ContinuousClock.now
            let set = try await tc.admin.setTeamSettings(team: "iris", SetTeamSettingsRequest(discoveryServer: "robot1"))
            let delta = try await parked.value
            #expect(ContinuousClock.now - start < .seconds(1))
            #expect(set.discoveryServer == "robot1" && set.rosDiscovery == .server && set.rmwImplementation == "rmw_fastrtps_cpp")
            #expect(!delta.full && delta.revision > r2.map.revision && delta.team.discoveryServer == "robot1")
            #expect(delta.added.isEmpty && delta.updated.isEmpty && delta.removed.isEmpty)

            // Each field alone; the others stay. "none" clears the RMW choice.
            var t = try await tc.admin.setTeamSettings(team: "iris", SetTeamSettingsRequest(rmwImplementation: "none"))
            #expect(t.rmwImplementation == nil && t.discoveryServer == "robot1" && t.rosDiscovery == .server)
            t = try await tc.admin.setTeamSettings(team: "iris", SetTeamSettingsRequest(rosDiscovery: .peers, rmwImplementation: "rmw_zenoh_cpp"))
            #expect(t.rosDiscovery == .peers && t.discoveryServer == "robot1" && t.rmwImplementation == "rmw_zenoh_cpp")
            t = try await tc.admin.setTeamSettings(team: "iris", SetTeamSettingsRequest(rosDiscovery: .server))
            #expect(try await n2.map(since: 0).team == TeamSettings(name: "iris", prefix: IPv4Prefix("100.80.0.0/24")!, mode: .auto, rosDomainID: t.rosDomainID,
                                                                    rosDiscovery: .server, discoveryServer: "robot1", rmwImplementation: "rmw_zenoh_cpp"))

            // The designation follows a rename (the same key enrolling again under a new name) ...
            _ = try await tc.node(token, key: k1).enroll(token: token, name: "robot1b")
            #expect(try await tc.admin.listTeams().first { $0.name == "iris" }?.discoveryServer == "robot1b")
            // ... survives a restart, and goes with the member.
            try await tc.restart().stopping { restarted in
                let iris = try #require(try await restarted.admin.listTeams().first { $0.name == "iris" })
                #expect(iris.discoveryServer == "robot1b" && iris.rosDiscovery == .server && iris.rmwImplementation == "rmw_zenoh_cpp")
                _ = try await restarted.admin.removeNode(team: "iris", name: "robot1b")
                let after = try #require(try await restarted.admin.listTeams().first { $0.name == "iris" })
                #expect(after.discoveryServer == nil && after.rosDiscovery == .server)
                #expect(try await n2.map(since: 0).team.discoveryServer == nil)
                let audit = try await restarted.admin.audit(team: "iris").filter { $0.action == "team.settings" }
                #expect(audit.count == 4 && audit.allSatisfy { $0.actor == "admin:tester" && $0.outcome == "ok" })
                #expect(audit.first?.detail == "ROS discovery server, discovery server robot1, RMW rmw_fastrtps_cpp")
            }
        }

        @Test func hostileSettingsAreRefusedAndChangeNothing() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                _ = try await tc.enroll(try await tc.token("iris"), name: "robot1")
                let before = try await HostileAdminTests.world(tc)
                func refused(_ body: String, path: String = "/v1/teams/iris/settings", status: Int = 400, code: ErrorCode, mentioning: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    try await HostileAdminTests.expectRefused(tc, "PUT", path, body, status: status, code: code, mentioning: mentioning, sourceLocation: sourceLocation)
                }
                try await refused("{}", code: .invalidArgument, mentioning: "nothing to change")
                try await refused(#"{"rosDiscovery":null}"#, code: .invalidArgument, mentioning: "nothing to change")
                try await refused(#"{"rosDiscovery":"easy"}"#, code: .badRequest, mentioning: "rosDiscovery")
                try await refused(#"{"rosDiscovery":["server"]}"#, code: .badRequest, mentioning: "rosDiscovery")
                try await refused(#"{"rmw":"rmw_fastrtps_cpp"}"#, code: .badRequest, mentioning: "unknown field 'rmw'")
                for bad in ["rmw_x; rm -rf /", "rmw_$(id)", "RMW_FASTRTPS_CPP", "", "fastrtps", "rmw_\\n", "rmw_" + String(repeating: "a", count: 200)] {
                    try await refused(#"{"rmwImplementation":"\#(bad)"}"#, code: .invalidArgument, mentioning: "RMW implementation")
                }
                try await refused(#"{"rmwImplementation":7}"#, code: .badRequest, mentioning: "wrong type at 'rmwImplementation'")
                try await refused(#"{"discoveryServer":"ghost"}"#, status: 404, code: .nodeNotFound, mentioning: "no node named 'ghost'")
                try await refused(#"{"discoveryServer":"\#(String(repeating: "x", count: 5000))"}"#, status: 404, code: .nodeNotFound, mentioning: "no node named")
                // A valid field beside an invalid one: nothing of it is applied.
                try await refused(#"{"rosDiscovery":"server","discoveryServer":"ghost"}"#, status: 404, code: .nodeNotFound, mentioning: "ghost")
                try await refused(#"{"rosDiscovery":"server","rmwImplementation":"rmw x"}"#, code: .invalidArgument, mentioning: "RMW implementation")
                try await refused(#"{"rosDiscovery":"server"}"#, path: "/v1/teams/nope/settings", status: 404, code: .teamNotFound, mentioning: "no team named 'nope'")
                try await HostileAdminTests.expectRefused(tc, "POST", "/v1/teams", #"{"name":"atlas","rmwImplementation":"rmw_$(reboot)"}"#, code: .invalidArgument, mentioning: "RMW implementation")
                try await HostileAdminTests.expectRefused(tc, "POST", "/v1/teams", #"{"name":"atlas","rosDiscovery":"multicast"}"#, code: .badRequest, mentioning: "rosDiscovery")
                #expect(try await HostileAdminTests.world(tc) == before)
            }
        }

        /// A database written before these settings (schema v1 only) loads: its teams are on
        /// peers with no RMW choice, and can be set afterwards.
        @Test func databaseFromBeforeTheSettingsLoads() async throws {
            let dir = makeTempDir()
            let path = CoordinatorConfig(stateDirectory: dir, listenHost: "127.0.0.1", listenPort: 0).databasePath
            do {
                let q = try DatabaseQueue(path: path)
                try Store.migrator.migrate(q, upTo: "v1")
                try await q.write { db in
                    try db.execute(sql: """
                        INSERT INTO team (name, prefix, mode, ros_domain_id, ros_master, revision, settings_revision, created_at)
                        VALUES ('iris', '100.80.0.0/24', 'auto', 4, NULL, 1, 1, 1700000000000)
                        """)
                }
                #expect(try await q.read { db in try db.columns(in: "team").map { (c: ColumnInfo) in c.name } }.contains("ros_discovery") == false)
            }
            try await TestCoordinator.with(dir: dir) { tc in
                let iris = try #require(try await tc.admin.listTeams().first)
                #expect(iris.name == "iris" && iris.rosDomainID == 4 && iris.rosDiscovery == .peers && iris.discoveryServer == nil && iris.rmwImplementation == nil)
                let (n, r) = try await tc.enroll(try await tc.token("iris"), name: "robot1")
                #expect(r.map.team.rosDiscovery == .peers)
                _ = try await tc.admin.setTeamSettings(team: "iris", SetTeamSettingsRequest(rosDiscovery: .server, discoveryServer: "robot1", rmwImplementation: "rmw_cyclonedds_cpp"))
                let t = try await n.map(since: 0).team
                #expect(t.rosDiscovery == .server && t.discoveryServer == "robot1" && t.rmwImplementation == "rmw_cyclonedds_cpp")
            }
        }
    }
}
