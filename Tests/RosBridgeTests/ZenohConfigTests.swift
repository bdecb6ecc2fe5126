import Foundation
import RosBridge
import Testing
import TeamwireCore

/// The Zenoh files parsed back as JSON (what Zenoh's JSON5 reader and Python's json both accept).
@Suite("Zenoh configs")
struct ZenohConfigTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func endpoints(_ o: [String: Any], _ key: String) -> [String]? {
        (o[key] as? [String: Any])?["endpoints"] as? [String]
    }

    /// A team of two robots and a laptop, plus a third robot, in scrambled order.
    func team(selfName: String = "robot1", selfAddress: String = "100.64.0.2", selfRole: Role = .robot) -> RosContext {
        alpha(members: [member("robot3", "100.64.0.20"), member("laptop", "100.64.0.10", .laptop),
                        member("robot1", "100.64.0.2"), member("robot2", "100.64.0.3")],
              selfName: selfName, selfAddress: selfAddress, selfRole: selfRole)
    }

    @Test("a robot's router listens on loopback and its overlay address and connects to the other robots only")
    func router() throws {
        let r = try json(ZenohConfig.renderRouter(team()))
        #expect(r["mode"] as? String == "router")
        #expect(endpoints(r, "listen") == ["tcp/127.0.0.1:7447", "tcp/100.64.0.2:7447"])
        // Not itself, not the laptop (it runs no router), sorted by address.
        #expect(endpoints(r, "connect") == ["tcp/100.64.0.3:7447", "tcp/100.64.0.20:7447"])
        let connect = try #require(r["connect"] as? [String: Any])
        #expect(connect["timeout_ms"] as? Int == -1)
        #expect(connect["exit_on_failure"] as? Bool == false)
        let scouting = try #require(r["scouting"] as? [String: Any])
        let multicast = try #require(scouting["multicast"] as? [String: Any])
        #expect(multicast["enabled"] as? Bool == false)
        #expect(multicast["listen"] as? Bool == false)
        let gossip = try #require(scouting["gossip"] as? [String: Any])
        #expect(gossip["multihop"] as? Bool == false)
        #expect(gossip["autoconnect"] as? [String] == [])
        #expect((r["timestamping"] as? [String: Any])?["enabled"] as? Bool == true)
    }

    @Test("no address outside the team and no wildcard appears in a robot's files")
    func onlyTeamAddresses() throws {
        let c = team()
        for text in [ZenohConfig.renderRouter(c), ZenohConfig.renderSession(c)] {
            #expect(!text.contains("0.0.0.0") && !text.contains("[::]") && !text.contains("localhost"))
            #expect(!text.contains("100.64.0.10"), "the laptop runs no router")
        }
    }

    @Test("a robot's session is a peer of its own router on loopback")
    func robotSession() throws {
        let s = try json(ZenohConfig.renderSession(team()))
        #expect(s["mode"] as? String == "peer")
        #expect(endpoints(s, "connect") == ["tcp/127.0.0.1:7447"])
        #expect(endpoints(s, "listen") == ["tcp/127.0.0.1:0"])
        let scouting = try #require(s["scouting"] as? [String: Any])
        #expect((scouting["multicast"] as? [String: Any])?["enabled"] as? Bool == false)
        #expect((scouting["gossip"] as? [String: Any])?["target"] as? [String] == ["router"])
    }

    @Test("a laptop's session is a client of every robot's router, and it gets no router")
    func laptopSession() throws {
        let c = team(selfName: "laptop", selfAddress: "100.64.0.10", selfRole: .laptop)
        #expect(!ZenohConfig.runsRouter(c))
        let s = try json(ZenohConfig.renderSession(c))
        #expect(s["mode"] as? String == "client")
        #expect(endpoints(s, "connect") == ["tcp/100.64.0.2:7447", "tcp/100.64.0.3:7447", "tcp/100.64.0.20:7447"])
        #expect(s["listen"] == nil)
        // Tried once each, in order: with retries Zenoh would stay on the first robot.
        let connect = try #require(s["connect"] as? [String: Any])
        #expect(connect["timeout_ms"] as? Int == 0)
        #expect(connect["exit_on_failure"] as? Bool == true)
        #expect(((s["scouting"] as? [String: Any])?["multicast"] as? [String: Any])?["enabled"] as? Bool == false)
        let env = RosEnvironment.render(c)
        #expect(env.contains("\nunset ZENOH_ROUTER_CONFIG_URI\n"))
        #expect(env.contains("\nexport ZENOH_SESSION_CONFIG_URI=/var/lib/teamwire/ros/alpha/zenoh-session.json5\n"))
    }

    @Test("ros.env picks no middleware unless the team chose one")
    func noRMW() throws {
        for c in [team(), team(selfName: "laptop", selfAddress: "100.64.0.10", selfRole: .laptop)] {
            #expect(try !RosEnvironment.entries(RosEnvironment.render(c)).contains { $0.name == "RMW_IMPLEMENTATION" })
        }
    }

    @Test("a robot alone connects to nobody; another robot joining adds exactly its router")
    func joining() throws {
        let alone = alpha(members: [member("robot1", "100.64.0.2")])
        #expect(endpoints(try json(ZenohConfig.renderRouter(alone)), "connect") == [])
        let two = alpha(members: [member("robot1", "100.64.0.2"), member("robot2", "100.64.0.3")])
        #expect(endpoints(try json(ZenohConfig.renderRouter(two)), "connect") == ["tcp/100.64.0.3:7447"])
        // A laptop joining changes no robot's Zenoh file.
        var withLaptop = two
        withLaptop.members.append(member("laptop", "100.64.0.10", .laptop))
        #expect(ZenohConfig.renderRouter(withLaptop) == ZenohConfig.renderRouter(two))
        #expect(ZenohConfig.renderSession(withLaptop) == ZenohConfig.renderSession(two))
    }

    @Test("every file of every member of a large team is valid JSON and stable under reordering")
    func bigTeamFiles() throws {
        let base = bigTeam(40)
        let r = try json(ZenohConfig.renderRouter(base))
        #expect(endpoints(r, "connect")?.count == 39)
        for order in reorderings(base.members) {
            var c = base
            c.members = order
            #expect(ZenohConfig.renderRouter(c) == ZenohConfig.renderRouter(base))
        }
    }

    @Test("the router file, whole")
    func wholeRouter() {
        #expect(ZenohConfig.renderRouter(alpha()) == """
            {
              "mode": "router",
              "connect": {
                "timeout_ms": -1,
                "exit_on_failure": false,
                "endpoints": ["tcp/100.64.0.3:7447"],
                "retry": {
                  "period_init_ms": 1000,
                  "period_max_ms": 4000,
                  "period_increase_factor": 2
                }
              },
              "listen": {
                "timeout_ms": -1,
                "exit_on_failure": false,
                "endpoints": ["tcp/127.0.0.1:7447", "tcp/100.64.0.2:7447"],
                "retry": {
                  "period_init_ms": 1000,
                  "period_max_ms": 4000,
                  "period_increase_factor": 2
                }
              },
              "scouting": {
                "multicast": {
                  "enabled": false,
                  "listen": false
                },
                "gossip": {
                  "enabled": true,
                  "multihop": false,
                  "target": ["router", "peer"],
                  "autoconnect": []
                }
              },
              "timestamping": {
                "enabled": true,
                "drop_future_timestamp": false
              },
              "queries_default_timeout": 600000,
              "routing": {
                "router": {
                  "peers_failover_brokering": false
                }
              }
            }

            """)
    }
}
