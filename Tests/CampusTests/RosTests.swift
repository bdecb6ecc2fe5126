import Foundation
import Testing
import TeamwireCore

/// ROS across the overlay with the real programs: roscore, roslaunch and rostopic (ROS 1),
/// ddsperf (CycloneDDS), avahi-daemon, each in its lab host, configured only by what the agent
/// wrote (`teamwire exec` / `teamwire env`).
extension CampusTests {
    /// ROS 1: the launch example on the master robot (it starts the agent too), a publisher on
    /// robot2 and a subscriber on the laptop; with client isolation on, through the hub.
    @Test func ros1AcrossTheOverlay() async throws {
        try await Campus.with("r") { c in
            try await c.join(["robot1", "robot2", "laptop"])
            try c.tw("coord", ["node", "set-ros-master", "iris", "robot1"])
            let master = try c.overlay("robot1")
            for h in ["robot1", "robot2", "laptop"] {
                try await c.until("\(h)'s env names the master", timeout: 5) {
                    try c.tw(h, ["env"]).out.contains("export ROS_MASTER_URI=http://\(master):11311")
                }
                let env = try c.tw(h, ["env"]).out
                #expect(env.contains("export ROS_IP=\(try c.overlay(h))"), "\(env)")
            }
            // The ROS user reads the outputs without root; the keys beside them stay unreadable.
            let nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            #expect(try c.exec("robot2", nobody + ["cat", "/var/lib/teamwire/ros/iris/ros.env"]).out.contains("ROS_MASTER_URI"))
            #expect(try c.exec("robot2", nobody + ["ls", "/var/lib/teamwire"], check: false).status != 0)
            #expect(try c.exec("robot2", nobody + ["cat", "/var/lib/teamwire/teams/iris/private.key"], check: false).status != 0)
            // The agent stops (its tunnel stays); the launch brings it back as one of its nodes.
            try c.stop("robot1", "agent")
            try c.spawn("robot1", "roslaunch", c.rosCommand(["roslaunch", "teamwire_ros", "robot.launch"]))
            try await c.until("roslaunch started robot1's agent", timeout: 30) { try c.tw("robot1", ["status"], check: false).status == 0 }
            try c.spawn("robot2", "pub", c.rosCommand(["rostopic", "pub", "-r", "5", "/chatter", "std_msgs/String", "data: hi-from-robot2"]))
            try c.spawn("laptop", "echo", c.rosCommand(["rostopic", "echo", "/chatter"]))
            try await c.until("the laptop hears robot2", timeout: 40) { c.log("laptop", "echo").contains("hi-from-robot2") }
            try await c.until("the laptop hears robot1's launch talker", timeout: 20) { c.log("laptop", "echo").contains("hello from \(master)") }
            try await c.until("robot1's launch listener hears robot2", timeout: 20) { c.log("robot1", "roslaunch").contains("hi-from-robot2") }

            // Client isolation: robot2 and the laptop reach each other only through the hub.
            try c.isolation(true)
            try await c.until("robot2 → laptop goes via the hub", timeout: 15) { try c.path("robot2", to: "laptop") == .relay }
            try c.spawn("laptop", "echo2", c.rosCommand(["rostopic", "echo", "/chatter"]))
            try await c.until("a new subscriber on the laptop hears robot2 through the hub", timeout: 40) {
                c.log("laptop", "echo2").contains("hi-from-robot2")
            }
        }
    }
}

extension Campus {
    /// A ROS command under `teamwire exec`, with the lab host's own ROS home (logs) and the
    /// repo's launch/ on the package path; `teamwire` on PATH for the launch's agent node.
    func rosCommand(_ cmd: [String]) -> [String] {
        let bin = (Self.binary as NSString).deletingLastPathComponent
        return ["env", "ROS_HOME=/tmp/teamwire-lab/ros", "ROS_PACKAGE_PATH=\(Self.repo)/launch:/usr/share",
                "PATH=\(bin):/usr/sbin:/usr/bin:/sbin:/bin", "PYTHONUNBUFFERED=1", Self.binary, "exec", "--"] + cmd
    }
}

extension CampusTests {
    /// DDS (CycloneDDS's ddsperf) across the overlay under client isolation: found with the
    /// generated file, not without it; a member joining later is found by a participant already running; a removed member
    /// leaves every rendered file within a second.
    @Test func ddsAcrossTheOverlay() async throws {
        try await Campus.with("d") { c in
            try await c.join(["robot1", "robot2"])
            // Campus Wi-Fi: no multicast and no traffic between clients; robot to robot goes via the hub.
            // (An idle direct path fails only once something is sent on it: a ping does that.)
            let r1 = try c.overlay("robot1")
            try await c.until("robot1 and robot2 are direct", timeout: 10) {
                try c.path("robot1", to: "robot2") == .direct && c.path("robot2", to: "robot1") == .direct
            }
            try c.isolation(true)
            try await c.until("robot2 reaches robot1 via the hub", timeout: 15) {
                try c.ping("robot2", r1, wait: 1) && c.path("robot2", to: "robot1") == .relay
            }
            // Multicast defaults find nobody (WireGuard carries no multicast): the ping side gives up.
            try c.spawn("robot1", "pong0", ["ddsperf", "-D", "30", "pong"])
            let bare = try c.exec("robot2", Campus.ddsPing(wait: 6), check: false)
            #expect(bare.status != 0, "ddsperf matched a peer without the generated file:\n\(bare.out)")
            try c.stop("robot1", "pong0")

            // With the generated CycloneDDS file (CYCLONEDDS_URI from the env file): found, samples cross.
            try c.spawn("robot1", "pong", c.rosCommand(["ddsperf", "-D", "120", "pong"]))
            let ping = try c.tw("robot2", ["exec", "--"] + Campus.ddsPing(wait: 15), check: false)
            #expect(ping.status == 0, "ddsperf with teamwire's file did not get its round trips:\n\(ping.out)")

            // A member joining later: its file lists robot1, whose running pong (started before the
            // laptop existed) answers it once the laptop announces itself.
            try await c.startAgent("laptop")
            try c.tw("laptop", ["join", try c.token(role: "laptop"), "--name", "laptop", "--wait", "15"])
            let late = try c.tw("laptop", ["exec", "--"] + Campus.ddsPing(wait: 15), check: false)
            #expect(late.status == 0, "the late member's ddsperf found no running participant:\n\(late.out)")

            // Removal: gone from every file on robot1 within a second.
            let laptop = try c.overlay("laptop").description
            let files = ["ros.env", "cyclonedds.xml", "fastdds.xml", "hosts"].map { "/var/lib/teamwire/ros/iris/" + $0 }
            #expect(try c.exec("robot1", ["cat"] + files).out.contains(laptop))
            let start = Date()
            try c.tw("coord", ["node", "remove", "iris", "laptop"])
            try await c.until("laptop leaves robot1's files", timeout: 1) { try !c.exec("robot1", ["cat"] + files).out.contains(laptop) }
            print("removal reached robot1's ROS files in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
        }
    }

    /// Names on each robot's own avahi-daemon: every member resolves to its overlay address,
    /// the ROS master is a service, and a restarted daemon gets everything back.
    @Test func avahiPublishesMembers() async throws {
        try await Campus.with("a") { c in
            try c.lab(["mdns", "robot1"])
            try await c.join(["robot1", "robot2", "robot3"])
            // robot3 has no Avahi: a warning, not a failure (it joined above).
            #expect(c.log("robot3", "agent").contains("avahi"), "no warning about the missing avahi-daemon on robot3")
            try c.tw("coord", ["node", "set-ros-master", "iris", "robot2"])
            var addr: [String: String] = [:]
            for h in ["robot1", "robot2", "robot3"] { addr[h] = try c.overlay(h).description }
            func resolves(_ host: String) throws -> Bool {
                try ["robot1", "robot2", "robot3"].allSatisfy { m in
                    try [m + ".local", m + ".iris.local"].allSatisfy { name in
                        let r = try c.exec(host, ["avahi-resolve", "-4", "-n", name], check: false)
                        return r.status == 0 && r.out.contains(addr[m]!)
                    }
                }
            }
            try await c.until("robot1 resolves every member", timeout: 15) { try resolves("robot1") }
            try await c.until("robot1 sees the ROS master service", timeout: 10) {
                let out = try c.exec("robot1", ["avahi-browse", "-rpt", "_ros-master._tcp"], check: false).out
                return out.contains("robot2.iris.local") && out.contains("11311") && out.contains("team=iris")
            }
            // A daemon that starts after the agent gets the names too.
            try c.lab(["mdns", "robot2"])
            try await c.until("robot2 resolves every member", timeout: 15) { try resolves("robot2") }
            // avahi-daemon restarts: the agent reconnects and publishes again.
            try c.stop("robot1", "avahi")
            try c.lab(["mdns", "robot1"])
            try await c.until("robot1 resolves every member after avahi restarted", timeout: 20) { try resolves("robot1") }
        }
    }
}

extension Campus {
    /// A ddsperf ping that succeeds only if a pong matches within `wait` s and 5 round trips complete.
    static func ddsPing(wait: Int) -> [String] {
        ["ddsperf", "-D", "\(wait + 5)", "-Qminmatch:1", "-Qinitwait:\(wait)", "-Qroundtrips:5", "ping", "10Hz"]
    }
}

extension CampusTests {
    /// ROS 2 (rclpy on Fast DDS 2.14, from PyPI) across the overlay under client isolation: with
    /// the generated Fast DDS profile the listener on robot1 hears robot2's talker (via the hub);
    /// with ROS 2's defaults (multicast discovery) it hears nothing.
    @Test func ros2AcrossTheOverlay() async throws {
        try await Campus.with("2") { c in
            try await c.join(["robot1", "robot2"])
            try c.isolation(true)
            let domain = try #require(try c.tw("robot1", ["env"]).out.split(separator: "\n")
                .first { $0.hasPrefix("export ROS_DOMAIN_ID=") }?.split(separator: "=").last.map(String.init))
            // Defaults, same domain: nobody found.
            try c.spawn("robot1", "bare-listener", Campus.ros2(["ROS_DOMAIN_ID=\(domain)"], "ros2_listener"))
            try c.spawn("robot2", "bare-talker", Campus.ros2(["ROS_DOMAIN_ID=\(domain)"], "ros2_talker", "bare"))
            try await Task.sleep(for: .seconds(8))
            #expect(!c.log("robot1", "bare-listener").contains("heard:"), "ROS 2 defaults found a peer across WireGuard:\n\(c.log("robot1", "bare-listener"))")
            try c.stop("robot1", "bare-listener")
            try c.stop("robot2", "bare-talker")
            // With the team's environment (FASTRTPS_DEFAULT_PROFILES_FILE, ROS_STATIC_PEERS).
            try c.spawn("robot1", "listener", [Campus.binary, "exec", "--"] + Campus.ros2([], "ros2_listener"))
            try c.spawn("robot2", "talker", [Campus.binary, "exec", "--"] + Campus.ros2([], "ros2_talker", "hi-from-robot2"))
            try await c.until("robot1 hears robot2 over ROS 2", timeout: 30) { c.log("robot1", "listener").contains("heard: hi-from-robot2") }
        }
    }
}

extension Campus {
    /// The venv scripts/setup-debian makes with the ROS 2 wheels from PyPI.
    static let ros2Python = "/opt/teamwire-ros2/bin/python"

    /// A ROS 2 demo node from launch/teamwire_ros/nodes on Fast DDS, with extra environment.
    static func ros2(_ env: [String], _ node: String, _ args: String...) -> [String] {
        ["env", "RMW_IMPLEMENTATION=rmw_fastrtps_cpp", "PYTHONUNBUFFERED=1"] + env
            + [ros2Python, repo + "/launch/teamwire_ros/nodes/" + node] + args
    }
}
