import Foundation
import Testing
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The team's Fast DDS discovery server with the real programs: rclpy on Fast DDS 2.14 and
/// `fast-discovery-server` from the PyPI wheels, run by the designated member's agent, every
/// ROS process configured only by what the agent wrote (`teamwire exec`).
extension CampusTests {
    @Test func fastDDSDiscoveryServer() async throws {
        let wrapper = try Campus.discoveryServerWrapper()
        defer { try? FileManager.default.removeItem(atPath: (wrapper as NSString).deletingLastPathComponent) }
        try await Campus.with("ds") { c in
            let hosts = ["robot1", "robot2", "laptop"]
            let token = try c.token(uses: hosts.count)
            for h in hosts {
                try await c.startAgent(h, discoveryServer: wrapper)
                try c.tw(h, ["join", token, "--name", h, "--wait", "15"])
            }
            let r1 = try c.overlay("robot1"), r2 = try c.overlay("robot2")

            // Control: clients pointed at robot1 while no server runs there find nobody.
            try c.spawn("robot2", "ctl-talker", Campus.dsNode(["ROS_DISCOVERY_SERVER=\(r1):11811"], "ros2_talker", "ctl"))
            try c.spawn("laptop", "ctl-listener", Campus.dsNode(["ROS_DISCOVERY_SERVER=\(r1):11811"], "ros2_listener"))
            try await Task.sleep(for: .seconds(8))
            #expect(!c.log("laptop", "ctl-listener").contains("heard:"), "clients without a server found each other:\n\(c.log("laptop", "ctl-listener"))")
            try c.stop("robot2", "ctl-talker")
            try c.stop("laptop", "ctl-listener")

            // The team asks for a server on robot1: its agent runs it, every env file names it.
            try c.tw("coord", ["team", "set", "iris", "--ros-discovery", "server", "--discovery-server", "robot1", "--rmw", "rmw_fastrtps_cpp"])
            let list = try c.tw("coord", ["team", "list"]).out
            #expect(list.contains("server (robot1)") && list.contains("rmw_fastrtps_cpp"), "\(list)")
            let first = try await c.discoveryServer(on: "robot1")
            #expect(try c.team("robot2").discoveryServer == nil)
            for h in hosts {
                try await c.until("\(h)'s env names robot1's server", timeout: 5) {
                    try c.tw(h, ["env"]).out.contains("export ROS_DISCOVERY_SERVER=\(r1):11811")
                }
            }
            #expect(try c.tw("laptop", ["env"]).out.contains("export RMW_IMPLEMENTATION=rmw_fastrtps_cpp"))
            // Bound to the overlay address only, not to robot1's campus address.
            let sockets = try c.exec("robot1", ["ss", "-Hlun"]).out
            #expect(sockets.contains("\(r1):11811") && !sockets.contains("0.0.0.0:11811") && !sockets.contains("*:11811"), "\(sockets)")

            // Through the server: a talker on robot2, a listener on the laptop.
            try c.spawn("robot2", "talker", Campus.dsNode([], "ros2_talker", "via-robot1"))
            try c.spawn("laptop", "listener", Campus.dsNode([], "ros2_listener"))
            try await c.until("the laptop hears robot2 through robot1's server", timeout: 30) { c.log("laptop", "listener").contains("heard: via-robot1") }
            // A plain client learns only what it matches; the super client (ros.env's hint for CLI tools) sees the graph.
            let plain = try c.exec("robot1", Campus.dsLister([]), check: false).out
            let superClient = try c.exec("robot1", Campus.dsLister(["ROS_SUPER_CLIENT=TRUE"]), check: false).out
            #expect(plain.contains("topics:") && !plain.contains("/chatter"), "\(plain)")
            #expect(superClient.contains("/chatter"), "\(superClient)")

            // Moved live to robot2: robot1's server stops, robot2's starts, the files follow, and
            // processes started after the move find each other.
            try c.tw("coord", ["team", "set", "iris", "--discovery-server", "robot2"])
            let moved = try await c.discoveryServer(on: "robot2")
            try await c.until("robot1's server stopped", timeout: 5) { try c.team("robot1").discoveryServer == nil && kill(first, 0) != 0 }
            try await c.until("the laptop's env names robot2's server", timeout: 5) {
                try c.tw("laptop", ["env"]).out.contains("export ROS_DISCOVERY_SERVER=\(r2):11811")
            }
            let before = Campus.heard(c.log("laptop", "listener"))
            try c.spawn("robot1", "talker2", Campus.dsNode([], "ros2_talker", "after-move"))
            try c.spawn("laptop", "listener2", Campus.dsNode([], "ros2_listener"))
            try await c.until("a listener started after the move hears a talker started after it", timeout: 30) {
                c.log("laptop", "listener2").contains("heard: after-move")
            }
            // Processes started before the move keep what they matched but stay clients of the old
            // server: they and the new ones never find each other (discovery really goes through
            // the server; no peer fallback). They must restart to join the new server.
            try await Task.sleep(for: .seconds(25))
            let oldPair = Campus.heard(c.log("laptop", "listener")) - before
            let oldHearsNew = c.log("laptop", "listener").contains("heard: after-move")
            let newHearsOld = c.log("laptop", "listener2").contains("heard: via-robot1")
            print("discovery server moved: the old pair exchanged \(oldPair) more messages in the 25+ s after; old listener hears the new talker: \(oldHearsNew); new listener hears the old talker: \(newHearsOld)")
            #expect(oldPair > 10, "the pair matched before the move stopped exchanging")
            #expect(!oldHearsNew && !newHearsOld, "processes on different servers found each other")

            // The agent stops: its server stops with it (no orphan); it comes back with the agent.
            try c.stop("robot2", "agent")
            try await c.until("robot2's server is gone with its agent", timeout: 10) { kill(moved, 0) != 0 }
            try await c.startAgent("robot2", discoveryServer: wrapper)
            let again = try await c.discoveryServer(on: "robot2")
            // A server that dies is restarted.
            kill(again, SIGKILL)
            try await c.until("robot2's agent restarted its server", timeout: 15) {
                let d = try c.team("robot2").discoveryServer
                return d?.state == "running" && d?.pid != nil && d?.pid != again && (d?.restarts ?? 0) >= 1
            }
            let restarted = try #require(try c.team("robot2").discoveryServer?.pid)
            // Leaving the team stops it.
            try c.tw("robot2", ["leave", "iris"])
            try await c.until("robot2's server is gone after leave", timeout: 10) { kill(restarted, 0) != 0 }
            #expect(try c.exec("robot2", ["ss", "-Hlun"]).out.contains(":11811") == false)
        }
    }
}

extension Campus {
    /// Starts the agent with the discovery server command given.
    func startAgent(_ host: String, discoveryServer command: String) async throws {
        try spawn(host, "agent", [Self.binary, "agent", "--backend", "userspace", "--log-level", "debug", "--discovery-server-command", command])
        try await until("\(host)'s agent answers", timeout: 20) { try self.tw(host, ["status"], check: false).status == 0 }
    }

    /// Waits until `host`'s agent reports its discovery server running; returns its pid.
    func discoveryServer(on host: String) async throws -> pid_t {
        var pid: pid_t?
        try await until("\(host)'s agent runs the discovery server", timeout: 15) {
            let d = try self.team(host).discoveryServer
            pid = d?.state == "running" ? d?.pid : nil
            return pid != nil
        }
        return pid!
    }

    /// `fast-discovery-server` from the ROS 2 wheels: the wheel's binary finds its libraries only
    /// with LD_LIBRARY_PATH (its RPATH points into site-packages), so a user's install needs the
    /// same wrapper. In a temporary directory the lab hosts share.
    static func discoveryServerWrapper() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("teamwire-ds-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/fast-discovery-server"
        let venv = (ros2Python as NSString).deletingLastPathComponent + "/.."
        try """
            #!/bin/sh
            export LD_LIBRARY_PATH=\(venv)/lib:\(venv)/lib/python3.11/site-packages/ros_fastrtps.libs
            exec \(venv)/bin/fast-discovery-server "$@"

            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o755)
        return path
    }

    /// A ROS 2 demo node under `teamwire exec`, with extra environment on top of the team's.
    static func dsNode(_ env: [String], _ node: String, _ args: String...) -> [String] {
        [binary, "exec", "--", "env", "PYTHONUNBUFFERED=1"] + env + [ros2Python, repo + "/launch/teamwire_ros/nodes/" + node] + args
    }

    /// Lists the ROS 2 graph's topics after 8 s, under `teamwire exec` with extra environment.
    static func dsLister(_ env: [String]) -> [String] {
        let program = """
            import time, rclpy
            rclpy.init()
            n = rclpy.create_node("teamwire_lister")
            end = time.time() + 8
            while time.time() < end:
                rclpy.spin_once(n, timeout_sec=0.2)
            print("topics:", sorted(t for t, _ in n.get_topic_names_and_types()), flush=True)
            """
        return [binary, "exec", "--", "env", "PYTHONUNBUFFERED=1"] + env + [ros2Python, "-c", program]
    }
}
