import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The systemd units in config/, judged by systemd's own tools: `systemd-analyze security`
/// rates each one's exposure (the README shows the figures), `systemd-analyze verify` loads them
/// as systemd would from the installed layout.
@Suite("Systemd units")
struct SystemdUnitTests {
    static let units = ["teamwire-agent.service", "teamwire-coordinator.service", "teamwire-ros.service"]

    static func unitPath(_ unit: String) -> String { Install.repo + "/config/" + unit }

    /// Every unit rates at most 4.0 ("OK").
    @Test(arguments: units)
    func exposureIsAtMostFour(_ unit: String) throws {
        let r = try run(["systemd-analyze", "security", "--offline=true", "--no-pager", Self.unitPath(unit)], check: false)
        #expect(r.status == 0, "\(r.out)")
        let level = try #require(Self.overallExposure(r.out), "no overall exposure in: \(r.out)")
        print("systemd-analyze security \(unit): \(level)")
        #expect(level <= 4.0, "\(unit) rates \(level):\n\(r.out)")
    }

    /// The capabilities are exactly those the code uses (see the comments in each unit).
    @Test func capabilitiesAreExactlyTheNeededOnes() throws {
        #expect(try Self.capabilities("teamwire-agent.service") == ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_CHOWN"])
        #expect(try Self.capabilities("teamwire-coordinator.service") == ["CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_CHOWN"])
        // Present and empty: no capability at all (absent would mean every one).
        #expect(try Self.settings("teamwire-ros.service")["CapabilityBoundingSet"] == [""])
        // The agent says when it is ready; its doorbell is a packet socket.
        let agent = try Self.settings("teamwire-agent.service")
        #expect(agent["Type"] == ["notify"])
        #expect(agent["RestrictAddressFamilies"]?.first?.split(separator: " ").contains("AF_PACKET") == true)
        #expect(agent["DeviceAllow"] == ["/dev/net/tun rw"])
    }

    /// `systemd-analyze verify` on the units installed as the .deb lays them out (in a scratch
    /// root with the built executables and this machine's own units for their dependencies): no
    /// unknown key, no bad value, every command present. Verify only warns about unknown keys,
    /// so any output at all fails the test.
    @Test func unitsVerify() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tw-units-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let fm = FileManager.default
        try fm.createDirectory(atPath: root + "/usr/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/usr/lib/systemd", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: root + "/etc/systemd/system", withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + "/lib", withDestinationPath: "usr/lib")
        // network-online.target, avahi-daemon.service, multi-user.target and what they need.
        try fm.copyItem(atPath: "/usr/lib/systemd/system", toPath: root + "/usr/lib/systemd/system")
        for unit in Self.units {
            try fm.copyItem(atPath: Self.unitPath(unit), toPath: root + "/usr/lib/systemd/system/" + unit)
        }
        for exe in Install.shipped {
            // A hard link when the build is on the same file system (the debug build is large).
            if link(Install.products + "/" + exe, root + "/usr/bin/" + exe) != 0 {
                try fm.copyItem(atPath: Install.products + "/" + exe, toPath: root + "/usr/bin/" + exe)
            }
        }
        let r = try run(["systemd-analyze", "verify", "--man=no", "--root=\(root)"] + Self.units, check: false)
        #expect(r.status == 0 && r.out.isEmpty, "\(r.out)")
        // The check has teeth: a misspelt key and a missing executable are both reported.
        let typo = try String(contentsOfFile: Self.unitPath("teamwire-agent.service"), encoding: .utf8)
            .replacingOccurrences(of: "ProtectKernelTunables=yes", with: "ProtectKernelTunabels=yes")
        try typo.write(toFile: root + "/usr/lib/systemd/system/teamwire-agent.service", atomically: true, encoding: .utf8)
        try fm.removeItem(atPath: root + "/usr/bin/teamwire")
        let bad = try run(["systemd-analyze", "verify", "--man=no", "--root=\(root)", "teamwire-agent.service"], check: false)
        #expect(bad.out.contains("Unknown key 'ProtectKernelTunabels'") && bad.out.contains("/usr/bin/teamwire is not executable"), "\(bad.out)")
    }

    /// The units as the .deb installs them, run by a real systemd (this machine's own, booted in
    /// a container, since systemd is not PID 1 here): the confinement holds what the agent, the
    /// coordinator with its hub, and ROS do; `systemctl start` of the agent returns only once it
    /// is ready, with the interface up and the ROS files written.
    @Test func hardenedUnitsRunUnderSystemd() throws {
        let unitDir = "lib/systemd/system/"
        var usr = ["share/teamwire_ros": Install.repo + "/launch/teamwire_ros"]
        for exe in Install.shipped { usr["bin/" + exe] = Install.products + "/" + exe }
        for unit in ["teamwire-agent.service", "teamwire-coordinator.service"] { usr[unitDir + unit] = Self.unitPath(unit) }
        // The admin's part: the options (wireguard-go, which any kernel has), the ROS example.
        let etc = [
            "systemd/system/teamwire-coordinator.service.d/test.conf":
                "[Service]\nEnvironment=\"TEAMWIRE_COORDINATOR_ARGS=--listen 127.0.0.1:7946 --hub-backend userspace\"\n",
            "systemd/system/teamwire-agent.service.d/test.conf": "[Service]\nEnvironment=\"TEAMWIRE_AGENT_ARGS=--backend userspace\"\n",
            "systemd/system/teamwire-ros.service": try String(contentsOfFile: Self.unitPath("teamwire-ros.service"), encoding: .utf8),
        ]
        let c = try SystemdContainer(usrFiles: usr, etcFiles: etc)
        defer { c.stop() }
        do {
            try Self.exercise(c)
        } catch {
            print(c.journal(["teamwire-agent", "teamwire-coordinator", "teamwire-ros"]))
            throw error
        }
    }

    static func exercise(_ c: SystemdContainer) throws {
        // What the .deb's postinst makes, and the ROS unit's user.
        for group in ["teamwire", "teamwire-admin"] { try c.exec(["groupadd", "--system", group]) }
        try c.exec(["useradd", "--create-home", "robot"])
        try c.exec(["systemctl", "daemon-reload"])

        // The coordinator and its hub: nftables and the forwarding sysctl through the sandbox.
        try c.exec(["systemctl", "start", "teamwire-coordinator"])
        // Type=simple: started is not yet listening.
        try until("the coordinator answers", timeout: 20) { try c.exec(["teamwire", "team", "list"], check: false).status == 0 }
        try c.exec(["teamwire", "team", "create", "iris"])
        let token = try c.exec(["teamwire", "token", "create", "iris"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        try until("the hub forwards for team iris", timeout: 10) {
            try c.exec(["cat", "/proc/sys/net/ipv4/conf/twhub/forwarding"], check: false).out.hasPrefix("1")
                && c.exec(["nft", "list", "table", "inet", "teamwire_hub_twhub"], check: false).out.contains("100.64.")
        }
        #expect(try c.property("teamwire-coordinator", "ActiveState") == "active")

        // Type=notify: `systemctl start` returns when the agent has said READY=1.
        try c.exec(["systemctl", "start", "teamwire-agent"])
        #expect(try c.property("teamwire-agent", "ActiveState") == "active")
        #expect(try c.property("teamwire-agent", "StatusText") == "no team joined")
        try c.exec(["teamwire", "join", token, "--name", "robot1"])
        try until("the unit's status follows the join", timeout: 5) { try c.property("teamwire-agent", "StatusText") == "1 team up" }
        try c.exec(["ip", "link", "delete", "tw-iris"])
        try c.exec(["rm", "-r", "/var/lib/teamwire/ros/iris"])
        try c.exec(["systemctl", "restart", "teamwire-agent"])
        #expect(try c.property("teamwire-agent", "StatusText") == "1 team up")
        #expect(try c.exec(["ip", "-o", "link", "show", "tw-iris"]).out.contains(",UP"))
        #expect(try c.exec(["test", "-s", "/var/lib/teamwire/ros/iris/ros.env"], check: false).status == 0)
        // UMask=0077, yet ROS (another user) can read what it must.
        #expect(try c.exec(["stat", "-c", "%a", "/var/lib/teamwire", "/var/lib/teamwire/ros/iris", "/var/lib/teamwire/ros/iris/ros.env", "/var/lib/teamwire/teams"]).out
            .split(separator: "\n") == ["711", "755", "644", "700"])
        // The confinement is in force on the running agent: exactly its three capabilities
        // (CAP_CHOWN 0, CAP_NET_ADMIN 12, CAP_NET_RAW 13), no new privileges, a seccomp filter.
        let pid = try c.property("teamwire-agent", "MainPID")
        let status = try c.exec(["cat", "/proc/\(pid)/status"]).out
        #expect(status.contains("CapBnd:\t0000000000003001"), "\(status)")
        #expect(status.contains("NoNewPrivs:\t1") && status.contains("Seccomp:\t2"), "\(status)")
        // The doorbell's packet socket works inside (it would warn once otherwise).
        #expect(!c.journal(["teamwire-agent"]).contains("no traffic doorbell"))

        // The coordinator is away: ready on the cache.
        try c.exec(["systemctl", "stop", "teamwire-coordinator"])
        try c.exec(["systemctl", "restart", "teamwire-agent"])
        #expect(try c.property("teamwire-agent", "StatusText") == "1 team up; coordinator unreachable, running on cache")

        // ROS 1 as the robot user, on the overlay, logs where it may write.
        try c.exec(["systemctl", "start", "teamwire-ros"])
        try until("the ROS talker is heard on the overlay address", timeout: 40) {
            c.journal(["teamwire-ros"]).contains("hello from 100.64.0.")
        }
        #expect(try c.exec(["find", "/var/log/teamwire-ros", "-name", "*.log", "-user", "robot"]).out.contains("talker"))
    }

    /// Polls `cond` every 200 ms until true or `timeout` seconds; throws with `what` on timeout.
    static func until(_ what: String, timeout: Double, _ cond: () throws -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try cond() { return }
            usleep(200_000)
        }
        throw LabError("timed out after \(timeout) s waiting until \(what)")
    }

    // MARK: reading units

    /// "→ Overall exposure level for NAME: 2.7 OK 🙂" → 2.7
    static func overallExposure(_ output: String) -> Double? {
        for line in output.split(separator: "\n") where line.contains("Overall exposure level for") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            return line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
        }
        return nil
    }

    /// The [Service] settings of a unit, each key with its values in order.
    static func settings(_ unit: String) throws -> [String: [String]] {
        var out: [String: [String]] = [:]
        var section = ""
        for raw in try String(contentsOfFile: unitPath(unit), encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") { section = line; continue }
            guard section == "[Service]", let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq]), default: []].append(String(line[line.index(after: eq)...]))
        }
        return out
    }

    /// CapabilityBoundingSet as systemd reads it: lines add up, an empty one resets.
    static func capabilities(_ unit: String) throws -> Set<String> {
        var caps: Set<String> = []
        for value in try settings(unit)["CapabilityBoundingSet"] ?? [] {
            if value.isEmpty { caps = [] } else { caps.formUnion(value.split(separator: " ").map(String.init)) }
        }
        return caps
    }
}
