import Foundation
import RosBridge
import Testing
import TeamwireCore

/// The team's discovery settings in ros.env and the discovery server's profile.
@Suite("Fast DDS discovery server and RMW_IMPLEMENTATION")
struct FastDDSDiscoveryTests {
    func team(_ discovery: RosDiscovery, server: String?, selfName: String = "robot1", selfAddress: String = "100.64.0.2", rmw: String? = nil, teamName: String = "alpha") -> RosContext {
        var c = alpha(selfName: selfName, selfAddress: selfAddress, team: teamName)
        c.rosDiscovery = discovery
        c.discoveryServer = server
        c.rmwImplementation = rmw
        return c
    }

    @Test("a server member: every member's ros.env names it, with how CLI tools see the whole graph")
    func serverEnv() throws {
        let text = RosEnvironment.render(team(.server, server: "robot2"))
        #expect(text.contains("""
            # ROS 2 discovery: Fast DDS participants are clients of the team's discovery server on robot2
            # (CycloneDDS and Zenoh ignore it and keep their peers). CLI tools that must see the whole graph:
            # ros2 daemon stop; ROS_SUPER_CLIENT=TRUE ros2 topic list
            export ROS_DISCOVERY_SERVER=100.64.0.3:11811

            """))
        #expect(try RosEnvironment.parse(text).first { $0.name == "ROS_DISCOVERY_SERVER" }?.value == "100.64.0.3:11811")
        // Nodes are plain clients: the super client is for CLI tools only.
        #expect(!text.contains("export ROS_SUPER_CLIENT"))
        // The peers stay for CycloneDDS (and for Fast DDS without ROS_DISCOVERY_SERVER).
        #expect(RosEnvironment.variables(team(.server, server: "robot2")).first { $0.name == "ROS_STATIC_PEERS" }?.value == "100.64.0.3;100.64.0.10")
        // The server member's own file points at itself.
        #expect(RosEnvironment.variables(team(.server, server: "robot2", selfName: "robot2", selfAddress: "100.64.0.3"))
            .first { $0.name == "ROS_DISCOVERY_SERVER" }?.value == "100.64.0.3:11811")
    }

    @Test("server mode without a current server member: a comment saying how, and peers", arguments: [nil, "gone", "ROBOT2"])
    func serverUndesignated(server: String?) throws {
        let text = RosEnvironment.render(team(.server, server: server))
        #expect(text.contains("""
            # team alpha uses a discovery server but none is designated: Fast DDS discovers by peers until
            # teamwire team set alpha --discovery-server NAME
            unset ROS_DISCOVERY_SERVER

            """))
        #expect(try RosEnvironment.unsetNames(text).contains("ROS_DISCOVERY_SERVER"))
        #expect(RosOutputs.render(team(.server, server: server)).allSatisfy { $0.name != FastDDSDiscovery.serverFileName })
    }

    @Test("peers: ROS_DISCOVERY_SERVER unset (a shell that sourced the server version drops it), even with a server member named")
    func peers() throws {
        for server in [nil, "robot1", "robot2"] {
            let c = team(.peers, server: server)
            let text = RosEnvironment.render(c)
            #expect(try RosEnvironment.unsetNames(text) == ["ROS_DISCOVERY_SERVER"])
            #expect(!text.contains("discovery server"))
            #expect(!FastDDSProfile.render(c).contains("ROS_DISCOVERY_SERVER"))
            #expect(!FastDDSDiscovery.runsServer(c))
            #expect(RosOutputs.render(c).allSatisfy { $0.name != FastDDSDiscovery.serverFileName })
        }
    }

    @Test("fastdds.xml keeps its peers in server mode and says when they go unused")
    func profileNote() throws {
        let c = team(.server, server: "robot2")
        let x = try ParsedXML(FastDDSProfile.render(c))
        #expect(x.all(["profiles", "participant", "rtps", "builtin", "initialPeersList", "locator"]).count == 3)
        #expect(FastDDSProfile.render(c).contains(
            "<!-- with ROS_DISCOVERY_SERVER set (ros.env) participants are clients of the discovery server on robot2 and these peers go unused -->\n          <initialPeersList>"))
        // No discovery protocol in the profile: ROS_DISCOVERY_SERVER makes the clients (see FastDDSDiscovery).
        #expect(x.all(["profiles", "participant", "rtps", "builtin", "discovery_config"]).isEmpty)
    }

    @Test("only the server member gets the server profile: SERVER, server id 0's prefix, the overlay address only")
    func serverProfile() throws {
        let onServer = team(.server, server: "robot2", selfName: "robot2", selfAddress: "100.64.0.3")
        #expect(FastDDSDiscovery.runsServer(onServer))
        #expect(!FastDDSDiscovery.runsServer(team(.server, server: "robot2")))
        let file = try #require(RosOutputs.render(onServer).first { $0.name == "fastdds-discovery-server.xml" })
        #expect(file.contents == FastDDSDiscovery.renderServer(onServer))
        let x = try ParsedXML(file.contents)
        #expect(x.root.uri == "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles")
        let d = ParsedXML(root: try #require(x.all(["profiles", "transport_descriptors", "transport_descriptor"]).first))
        #expect(d.text(["type"]) == "UDPv4")
        #expect(d.all(["interfaceWhiteList", "address"]).map(\.stringValue) == ["100.64.0.3"])
        let participant = try #require(x.all(["profiles", "participant"]).first)
        #expect(participant.attr("is_default_profile") == "true")
        #expect(participant.attr("profile_name") == "teamwire_alpha_discovery_server")
        let p = ParsedXML(root: participant)
        #expect(p.text(["rtps", "prefix"]) == "44.53.00.5f.45.50.52.4f.53.49.4d.41")
        #expect(p.text(["rtps", "useBuiltinTransports"]) == "false")
        #expect(p.all(["rtps", "userTransports", "transport_id"]).map(\.stringValue) == [d.text(["transport_id"])])
        #expect(p.text(["rtps", "builtin", "discovery_config", "discoveryProtocol"]) == "SERVER")
        #expect(p.text(["rtps", "builtin", "metatrafficUnicastLocatorList", "locator", "udpv4", "address"]) == "100.64.0.3")
        #expect(p.text(["rtps", "builtin", "metatrafficUnicastLocatorList", "locator", "udpv4", "port"]) == "11811")
    }

    @Test("the server profile escapes the team and node names")
    func serverEscaping() throws {
        var c = alpha(members: [member("a--b", "100.64.0.2")], selfName: "a--b", team: "t\"<&>--")
        c.rosDiscovery = .server
        c.discoveryServer = "a--b"
        let x = try ParsedXML(FastDDSDiscovery.renderServer(c))
        #expect(x.all(["profiles", "participant"]).first?.attr("profile_name") == "teamwire_t\"<&>--_discovery_server")
    }

    @Test("RMW_IMPLEMENTATION: exported when the team chose one, else left as the shell has it (not unset)")
    func rmw() throws {
        let chosen = RosEnvironment.render(team(.peers, server: nil, rmw: "rmw_cyclonedds_cpp"))
        #expect(chosen.contains("# the team's middleware (teamwire team set alpha --rmw)\nexport RMW_IMPLEMENTATION=rmw_cyclonedds_cpp\n"))
        let open = RosEnvironment.render(team(.peers, server: nil))
        #expect(open.contains("# RMW_IMPLEMENTATION is left as it is: team alpha has not chosen a middleware\n"))
        #expect(try !RosEnvironment.unsetNames(open).contains("RMW_IMPLEMENTATION"))
        #expect(try !RosEnvironment.parse(open).contains { $0.name == "RMW_IMPLEMENTATION" })
        // A value that is no RMW name (a damaged cache) is never written into the shell file.
        for bad in ["rmw_x; rm -rf /", "rmw_$(id)", "RMW_FASTRTPS_CPP", ""] {
            #expect(!RosEnvironment.render(team(.peers, server: nil, rmw: bad)).contains("export RMW_IMPLEMENTATION"))
        }
    }
}

@Suite("RMW implementation names")
struct RmwNameTests {
    @Test("the usual implementations are accepted", arguments: ["rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp", "rmw_cyclonedds_cpp", "rmw_zenoh_cpp", "rmw_connextdds", "rmw_gurumdds_cpp"])
    func accepted(name: String) { #expect(RmwName.problem(name) == nil) }

    @Test("anything else is refused with a reason", arguments: [
        "", "rmw_", "fastrtps", "rmw_Fast", "rmw_x y", "rmw_x;id", "rmw_x\n", "rmw_x_", "rmw-x", "rmw_é", "none",
        "rmw_" + String(repeating: "a", count: 61),
    ])
    func refused(name: String) { #expect(RmwName.problem(name) != nil) }
}
