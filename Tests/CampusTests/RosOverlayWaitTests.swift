import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension CampusTests {
    /// The ROS 2 launch's wait (launch/teamwire_ros/nodes/wait_for_overlay) on a real robot of the
    /// campus: it succeeds only once the team is joined, its interface is up and its ROS
    /// environment written, and fails saying why otherwise (not joined, another team, interface
    /// down, left). Run as root and as a member of the agent socket's group.
    @Test func overlayWaitNeedsTheJoinedTeamUp() async throws {
        // The script and the CLI where user nobody can read them (the lab hosts share /tmp).
        let dir = "/tmp/tw-ros-wait-\(getpid())"
        try? FileManager.default.removeItem(atPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o755)
        try run(["cp", Campus.binary, Campus.repo + "/launch/teamwire_ros/nodes/wait_for_overlay", dir + "/"])
        func wait(_ args: [String], nobody: Bool = false) -> [String] {
            (nobody ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [])
                + ["env", "PATH=\(dir):/usr/sbin:/usr/bin:/sbin:/bin", "\(dir)/wait_for_overlay"] + args
        }

        try await Campus.with("w") { c in
            try await c.startAgent("robot1")
            // The agent answers (`teamwire status` exits 0), but no team: the wait fails at its timeout.
            let unjoined = try c.exec("robot1", wait(["--timeout", "2"]), check: false)
            #expect(unjoined.status == 1 && unjoined.out.contains("not joined to any team"), "\(unjoined.out)")

            try c.tw("robot1", ["join", try c.token(), "--name", "robot1", "--wait", "15"])
            let address = try c.overlay("robot1")
            let iface = try c.team("robot1").interface
            let start = Date()
            let joined = try c.exec("robot1", wait(["--timeout", "10"]), check: false)
            #expect(joined.status == 0 && joined.out.contains("team iris is up: \(address) on \(iface)"), "\(joined.out)")
            print("wait_for_overlay on a joined robot returned in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            let named = try c.exec("robot1", wait(["--team", "iris", "--timeout", "10"]), check: false)
            #expect(named.status == 0, "\(named.out)")
            let other = try c.exec("robot1", wait(["--team", "kestrel", "--timeout", "1"]), check: false)
            #expect(other.status == 1 && other.out.contains("not joined to team kestrel (joined: iris)"), "\(other.out)")

            // A member of the socket's group (nobody's own group here) gets the same answer.
            try c.exec("robot1", ["chgrp", "65534", "/var/lib/teamwire/agent.sock"])
            try c.exec("robot1", ["chmod", "0660", "/var/lib/teamwire/agent.sock"])
            let member = try c.exec("robot1", wait(["--timeout", "10"], nobody: true), check: false)
            #expect(member.status == 0 && member.out.contains("team iris is up"), "\(member.out)")

            // The interface down: not up, whatever the agent's team list says.
            try c.exec("robot1", ["ip", "link", "set", iface, "down"])
            let down = try c.exec("robot1", wait(["--timeout", "1"]), check: false)
            #expect(down.status == 1 && down.out.contains("interface \(iface) is not up"), "\(down.out)")
            try c.exec("robot1", ["ip", "link", "set", iface, "up"])

            // Left: no team again.
            try c.tw("robot1", ["leave", "iris"])
            let left = try c.exec("robot1", wait(["--timeout", "1"]), check: false)
            #expect(left.status == 1 && left.out.contains("not joined to any team"), "\(left.out)")
        }
    }
}
