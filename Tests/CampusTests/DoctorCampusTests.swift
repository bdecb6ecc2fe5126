import Doctor
import Foundation
import Testing
import TeamwireCore

/// `teamwire doctor` on real members: agents, wireguard-go, probes with DF through the tunnel,
/// the canary, and the machine-id case with the real Fast DDS 3 (rclpy from the Kilted wheels).
extension CampusTests {
    /// A healthy team: exit 0, every member with its path and a passing full-size DF probe (direct,
    /// and through the hub under client isolation), the canary answered by every agent. A member whose link carries less than the tunnel needs
    /// (robot2's underlay MTU lowered, oversized frames dropped silently) gets the largest size
    /// that passes; a shell with the wrong ROS_DOMAIN_ID, or a ROS 1 master that does not run,
    /// gets a problem and exit 1.
    @Test func doctorOnAHealthyTeam() async throws {
        try await Campus.with("dr") { c in
            try await c.join(["robot1", "robot2", "laptop"])
            try await c.until("robot1 is direct to robot2 and the laptop", timeout: 15) {
                try c.path("robot1", to: "robot2") == .direct && c.path("robot1", to: "laptop") == .direct
            }
            func doctor(_ host: String, _ args: [String] = [], env: [String] = []) throws -> (status: Int32, findings: [Finding], out: String) {
                let r = try c.exec(host, [Campus.binary, "exec", "--", "env"] + env + [Campus.binary, "doctor", "--json"] + args, check: false)
                let findings = (try? JSONDecoder().decode([Finding].self, from: Data(r.out.utf8))) ?? []
                return (r.status, findings, r.out)
            }
            let healthy = try doctor("robot1")
            #expect(healthy.status == 0, "\(healthy.out)")
            #expect(!healthy.findings.contains { $0.level != .ok }, "\(healthy.out)")
            for m in ["robot2", "laptop"] {
                #expect(healthy.findings.contains { $0.check == "overlay.path" && $0.member == m && $0.level == .ok && $0.message.contains("direct to 192.0.2.") },
                        "\(m): \(healthy.out)")
                #expect(healthy.findings.contains { $0.check == "overlay.mtu" && $0.member == m && $0.level == .ok && $0.message.hasPrefix("1420-byte packets with DF") },
                        "\(m): \(healthy.out)")
            }
            let canary = try doctor("robot1", ["--canary"])
            #expect(canary.status == 0, "\(canary.out)")
            for m in ["robot2", "laptop"] {
                #expect(canary.findings.contains { $0.check == "canary" && $0.member == m && $0.level == .ok && $0.message.contains("answered the canary in") },
                        "\(m): \(canary.out)")
            }
            // The text form says the same, with the summary line.
            let text = try c.exec("robot2", [Campus.binary, "exec", "--", Campus.binary, "doctor", "--canary"], check: false)
            #expect(text.status == 0 && text.out.contains("0 problems") && text.out.contains("robot1's agent answered the canary"), "\(text.out)")

            // Client isolation: robot1 reaches robot2 only through the hub; full-size probes pass there too.
            try c.isolation(true)
            try await c.until("robot1 → robot2 goes via the hub", timeout: 15) {
                try c.ping("robot1", c.overlay("robot2"), wait: 1) && c.path("robot1", to: "robot2") == .relay
            }
            let relayed = try doctor("robot1")
            #expect(relayed.status == 0, "\(relayed.out)")
            #expect(relayed.findings.contains { $0.check == "overlay.path" && $0.member == "robot2" && $0.message.contains("via the hub (192.0.2.2:") }, "\(relayed.out)")
            #expect(relayed.findings.contains { $0.check == "overlay.mtu" && $0.member == "robot2" && $0.level == .ok }, "\(relayed.out)")
            try c.isolation(false)

            // The wrong domain in this shell: a problem, exit 1.
            let wrong = try doctor("laptop", env: ["ROS_DOMAIN_ID=99"])
            #expect(wrong.status == 1, "\(wrong.out)")
            #expect(wrong.findings.contains { $0.check == "ros.domain" && $0.level == .problem && $0.message.hasPrefix("ROS_DOMAIN_ID is 99 in this shell") }, "\(wrong.out)")

            // A ROS 1 master designated but not running: a problem until roscore answers on 11311.
            try c.tw("coord", ["node", "set-ros-master", "iris", "robot2"])
            try await c.until("robot1's env names the master", timeout: 5) { try c.tw("robot1", ["env"]).out.contains("ROS_MASTER_URI=http://100.64.0.3:11311") }
            let noMaster = try doctor("robot1")
            #expect(noMaster.status == 1 && noMaster.findings.contains { $0.check == "ros.master" && $0.level == .problem && $0.message.contains("robot2") }, "\(noMaster.out)")
            try c.spawn("robot2", "roscore", c.rosCommand(["roscore", "-p", "11311"]))
            try await c.until("doctor on robot1 finds the master answering", timeout: 30) {
                try doctor("robot1").findings.contains { $0.check == "ros.master" && $0.level == .ok }
            }

            // A DF probe larger than the interface never leaves (ping says so, exit 1).
            let big = try c.tw("robot1", ["ping", "robot2", "-c", "1", "--size", "1393", "--dont-fragment"], check: false)
            #expect(big.status == 1 && big.out.contains("1421 bytes with DF is larger than the path MTU"), "\(big.out)")

            // robot2's link now carries 1400-byte frames and drops larger ones without a word: the
            // tunnel's 1420 + 60 bytes of WireGuard no longer fit, about 1340 do (veth lets 4
            // bytes more in, and WireGuard pads to 16: 1344 passes here).
            try c.exec("robot2", ["ip", "link", "set", "eth0", "mtu", "1400"])
            let narrow = try doctor("robot1")
            #expect(narrow.status == 0, "\(narrow.out)")  // a warning, not a problem
            let mtu = narrow.findings.first { $0.check == "overlay.mtu" && $0.member == "robot2" }
            #expect(mtu?.level == .warning, "\(narrow.out)")
            let largest = mtu.flatMap { Int($0.message.split(separator: " ").dropFirst(4).first ?? "") }
            #expect(mtu?.message.hasPrefix("only packets up to ") == true && (1336...1348).contains(largest ?? 0), "\(narrow.out)")
            #expect(narrow.findings.contains { $0.check == "overlay.mtu" && $0.member == "laptop" && $0.level == .ok }, "\(narrow.out)")
        }
    }

    /// Two robots cloned from one image (the same /etc/machine-id): with Fast DDS 3 (the Kilted
    /// wheels) a talker on robot1 and a listener on robot2 never hear each other, and doctor
    /// and status name both. robot2 gets a fresh id and its agent restarts: the coordinator has
    /// the new hash, doctor is clean, and a listener started now hears the talker that ran all along.
    @Test func membersSharingAMachineID() async throws {
        try await Campus.with("mi") { c in
            let cloned = "5f3c2a9e8d7b4c1a9e0f2d4b6a8c0e13"
            for h in ["robot1", "robot2"] { try c.lab(["machine-id", h, cloned]) }
            try await c.join(["robot1", "robot2"])
            #expect(try c.exec("robot2", ["cat", "/etc/machine-id"]).out.contains(cloned))
            // status warns; the admin's node list marks them.
            let status = try c.tw("robot1", ["status"]).out
            #expect(status.contains("warning: robot1, robot2 share one machine id") && status.contains("systemd-machine-id-setup"), "\(status)")
            let nodes = try c.tw("coord", ["node", "list"]).out
            #expect(nodes.contains("robot1 (same machine id as robot2)") && nodes.contains("robot2 (same machine id as robot1)"), "\(nodes)")
            // The raw id never leaves the robot: the coordinator has only the hash.
            #expect(!(try c.tw("coord", ["node", "list", "--json"]).out.contains(cloned)))

            let doctor = try c.exec("robot2", [Campus.binary, "exec", "--", Campus.binary, "doctor", "--json"], check: false)
            #expect(doctor.status == 1, "\(doctor.out)")
            let found = (try? JSONDecoder().decode([Finding].self, from: Data(doctor.out.utf8))) ?? []
            let clash = found.filter { $0.check == "machine-id" }
            #expect(clash.count == 1 && clash.first?.level == .problem, "\(doctor.out)")
            #expect(clash.first?.message.hasPrefix("robot1 and robot2 share one /etc/machine-id") == true, "\(doctor.out)")
            #expect(clash.first?.fix?.contains("systemd-machine-id-setup") == true)

            // The silent failure: the overlay works (doctor found nothing else), Fast DDS 3 does not.
            try c.spawn("robot1", "talker", [Campus.binary, "exec", "--"] + Campus.ros2Kilted("ros2_talker", "hi-from-robot1"))
            try c.spawn("robot2", "listener", [Campus.binary, "exec", "--"] + Campus.ros2Kilted("ros2_listener"))
            try await Task.sleep(for: .seconds(15))
            #expect(c.running("robot1", "talker"), "the talker did not run:\n\(c.log("robot1", "talker"))")
            #expect(!c.log("robot2", "listener").contains("heard:"), "Fast DDS 3 delivered between hosts with one machine id:\n\(c.log("robot2", "listener"))")
            #expect(!found.contains { $0.level == .problem && $0.check != "machine-id" }, "\(doctor.out)")
            try c.stop("robot2", "listener")

            // The fix on robot2: a fresh id, then the agent restarted so that it reports it.
            try c.lab(["machine-id", "robot2", "0d1e2f3a4b5c6d7e8f90a1b2c3d4e5f6"])
            try c.stop("robot2", "agent")
            try await c.startAgent("robot2")
            try await c.until("robot1 sees robot2's new machine id", timeout: 10) { try c.team("robot1").sharedMachineIDs.isEmpty }
            #expect(!(try c.tw("robot1", ["status"]).out.contains("share one machine id")))
            let clean = try c.exec("robot1", [Campus.binary, "exec", "--", Campus.binary, "doctor"], check: false)
            #expect(clean.status == 0 && clean.out.contains("no two members share a machine id"), "\(clean.out)")
            try c.spawn("robot2", "listener2", [Campus.binary, "exec", "--"] + Campus.ros2Kilted("ros2_listener"))
            try await c.until("robot2 hears robot1 over Fast DDS 3", timeout: 30) { c.log("robot2", "listener2").contains("heard: hi-from-robot1") }
        }
    }
}

extension Campus {
    /// The venv scripts/setup-debian makes with the ROS 2 Kilted wheels (Fast DDS 3).
    static let ros2KiltedPython = "/opt/teamwire-ros2-kilted/bin/python"

    /// A ROS 2 demo node on Fast DDS 3 (Kilted), under the caller's `teamwire exec`.
    static func ros2Kilted(_ node: String, _ args: String...) -> [String] {
        ["env", "RMW_IMPLEMENTATION=rmw_fastrtps_cpp", "PYTHONUNBUFFERED=1", ros2KiltedPython, repo + "/launch/teamwire_ros/nodes/" + node] + args
    }
}
