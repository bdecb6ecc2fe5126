import Testing
@testable import TeamwireCore

/// `teamwire ping NAME`: which member a name means, the path and endpoint it reports, and the
/// sentence for every name it cannot ping.
@Suite("Ping target")
struct PingTargetTests {
    static let hub = PeerStatus(endpoint: Endpoint("192.0.2.2:51820"))

    static func member(_ name: String, _ last: UInt32, _ path: Path, endpoint: String? = nil) -> MemberStatus {
        MemberStatus(name: name, address: IPv4Address(0x6440_0000 + last), role: .robot, path: path, reachable: true,
                     peer: PeerStatus(endpoint: endpoint.flatMap(Endpoint.init)))
    }

    static func team(_ team: String, me: String, _ members: [MemberStatus]) -> TeamStatus {
        TeamStatus(team: team, name: me, address: IPv4Address(0x6440_0002), prefix: IPv4Prefix("100.64.0.0/24")!, interface: teamInterfaceName(team),
                   backend: "userspace", listenPort: 51820, mode: .auto, revision: 1, coordinatorContact: nil, coordinatorError: nil,
                   hub: hub, members: members)
    }

    static let status = AgentStatus(version: "t", teams: [
        team("iris", me: "robot1", [member("robot2", 3, .direct, endpoint: "192.0.2.12:51820"), member("laptop", 4, .relay, endpoint: "192.0.2.40:51821"),
                                    member("robot3", 5, .direct)]),
        team("hera", me: "robot1", [member("robot2", 7, .relay), member("base", 8, .direct, endpoint: "203.0.113.8:51820")]),
    ])

    func resolve(_ team: String?, _ name: String, in status: AgentStatus = Self.status) -> Result<PingTarget, APIError> {
        PingTarget.resolve(status, team: team, name: name)
    }

    @Test func directGoesToTheMembersEndpointRelayToTheHubs() throws {
        let direct = try resolve("iris", "robot2").get()
        #expect(direct == PingTarget(team: "iris", name: "robot2", address: IPv4Address("100.64.0.3")!, interface: "tw-iris", path: .direct,
                                     endpoint: Endpoint("192.0.2.12:51820")))
        // Relayed: the member's own endpoint is not where the probe goes; the hub's is.
        let relay = try resolve(nil, "laptop").get()
        #expect(relay.path == .relay && relay.endpoint == Endpoint("192.0.2.2:51820") && relay.team == "iris")
        // Direct with no endpoint learnt yet: none is made up.
        #expect(try resolve(nil, "robot3").get().endpoint == nil)
        // Unique across teams: no --team needed.
        #expect(try resolve(nil, "base").get().team == "hera")
    }

    @Test func everyNameItCannotPingIsOneSentence() throws {
        func message(_ team: String?, _ name: String, in status: AgentStatus = Self.status) -> String? {
            guard case .failure(let e) = resolve(team, name, in: status) else { return nil }
            return e.message
        }
        #expect(message("iris", "robot9") == "no member named robot9 in team iris (members: laptop, robot2, robot3)")
        #expect(message(nil, "robot9") == "no member named robot9 in any team (iris: laptop, robot2, robot3; hera: base, robot2)")
        #expect(message(nil, "robot2") == "robot2 is a member of teams hera and iris: pass --team")
        #expect(message("lynx", "robot2") == "not a member of team lynx (joined: iris, hera)")
        #expect(message("iris", "robot1") == "robot1 is this node (in team iris)")
        #expect(message(nil, "robot2", in: AgentStatus(version: "t", teams: [])) == "not joined to any team (teamwire join TOKEN)")
        #expect(message(nil, "robot2", in: AgentStatus(version: "t", teams: [Self.team("iris", me: "robot1", [])]))
            == "no member named robot2 in team iris (members: no other member yet)")
        // With --team, the same name in another team does not make it ambiguous.
        #expect(try resolve("hera", "robot2").get().path == .relay)
    }

    @Test func requestNumbersAreBounded() throws {
        #expect(PingRequest(team: nil, name: "a", sequence: 0, timeoutMillis: 100).numberProblem == nil)
        #expect(PingRequest(team: nil, name: "a", sequence: 65535, timeoutMillis: 10_000).numberProblem == nil)
        #expect(PingRequest(team: nil, name: "a", sequence: 65536, timeoutMillis: 2000).numberProblem == "sequence must be 0...65535")
        #expect(PingRequest(team: nil, name: "a", sequence: -1, timeoutMillis: 2000).numberProblem == "sequence must be 0...65535")
        #expect(PingRequest(team: nil, name: "a", sequence: 1, timeoutMillis: 99).numberProblem == "timeoutMillis must be 100...10000")
        #expect(PingRequest(team: nil, name: "a", sequence: 1, timeoutMillis: Int.max).numberProblem == "timeoutMillis must be 100...10000")
        // Strict: the agent's decoding refuses what a ping request does not have.
        let e = refusal { () throws(APIError) in try AgentRequestBody.decode(PingRequest.self, from: Array(#"{"name":"a","sequence":1,"timeoutMillis":100,"count":3}"#.utf8)) }
        #expect(e?.message == "unknown field 'count'")
        let ok = try AgentRequestBody.decode(PingRequest.self, from: Array(#"{"name":"a","sequence":1,"timeoutMillis":100}"#.utf8))
        #expect(ok == PingRequest(team: nil, name: "a", sequence: 1, timeoutMillis: 100))
    }
}
