import Foundation
import Testing
import TeamwireCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension CampusTests {
    /// A robot with teamwire installed from the .deb, joined and talking, gets a newer package:
    /// dpkg replaces the binaries under the running agent, the agent restarts on them (as
    /// postinst's try-restart does under systemd) and adopts its interface: the tunnel never
    /// drops, the node keeps its key, address and team. Then removing the package takes the
    /// interface down.
    @Test func upgradingThePackageKeepsTunnels() async throws {
        let dir = "/var/tmp/tw-upgrade-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let arch = try run(["dpkg", "--print-architecture"]).out.trimmingCharacters(in: .whitespacesAndNewlines)
        for version in ["0.2.0", "0.2.1"] {
            try run([Campus.repo + "/scripts/package", "--configuration", "debug", "--skip-build", "--fast",
                     "--version", version, "--output", dir])
        }
        try await Campus.with("upg") { c in
            // robot1 becomes a machine of its own to install on: in its mount namespace, /usr,
            // /etc and dpkg's state are overlays whose writes land in `dir` (the host's never change).
            let overlays = ["/usr", "/etc", "/var/lib/dpkg", "/var/log"].enumerated().map { i, path in
                "mkdir -p \(dir)/u\(i) \(dir)/w\(i) && mount -t overlay overlay -o lowerdir=\(path),upperdir=\(dir)/u\(i),workdir=\(dir)/w\(i) \(path)"
            }.joined(separator: " && ")
            try c.exec("robot1", ["sh", "-c", overlays])
            try c.exec("robot1", ["dpkg", "--install", "\(dir)/teamwire_0.2.0_\(arch).deb"])
            let agent = ["/usr/bin/teamwire", "agent", "--backend", "userspace", "--log-level", "debug"]
            try c.spawn("robot1", "agent", agent)
            try await c.until("robot1's packaged agent answers", timeout: 20) {
                try c.exec("robot1", ["/usr/bin/teamwire", "status"], check: false).status == 0
            }
            try await c.startAgent("robot2")
            let t = try c.token(uses: 2)
            try c.exec("robot1", ["/usr/bin/teamwire", "join", t, "--name", "robot1", "--wait", "15"])
            try c.tw("robot2", ["join", t, "--name", "robot2", "--wait", "15"])
            let peer = try c.overlay("robot2")
            try await c.until("robot1 pings robot2", timeout: 15) { try c.ping("robot1", peer) }
            let before = try c.team("robot1")
            // "7: tw-iris: <POINTOPOINT,...": the index changes if the interface is made anew.
            let ifindex = { try c.exec("robot1", ["ip", "-o", "link", "show", before.interface]).out.split(separator: ":").first.map(String.init) }
            let index = try ifindex()

            // 15 s of pings across the upgrade and the restart.
            try c.spawn("robot1", "ping", ["ping", "-n", "-i", "0.2", "-c", "75", peer.description])
            try await Task.sleep(for: .seconds(1))
            let upgrade = try c.exec("robot1", ["dpkg", "--install", "\(dir)/teamwire_0.2.1_\(arch).deb"], check: false)
            #expect(upgrade.status == 0, "\(upgrade.out)")
            #expect(try c.exec("robot1", ["dpkg-query", "--show", "--showformat", "${Version}", "teamwire"]).out == "0.2.1")
            // The running agent's binary was replaced under it.
            let pid = try String(contentsOfFile: "/run/\(c.lab)/pids/robot1-agent.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? ""
            #expect(exe.hasSuffix("(deleted)"), "the agent still runs the file dpkg installed? \(exe)")
            // systemd's try-restart: stop (SIGTERM; wireguard-go stays), start the new binary.
            try c.stop("robot1", "agent")
            try c.spawn("robot1", "agent", agent)
            try await c.until("robot1's upgraded agent has the team up", timeout: 20) {
                (try? c.team("robot1").members.first { $0.name == "robot2" }?.reachable) == true
            }
            try await c.until("the pings end", timeout: 30) { !c.running("robot1", "ping") }
            let pings = c.log("robot1", "ping")
            let received = pings.firstMatch(of: /(\d+) received/).flatMap { Int($0.1) } ?? 0
            #expect(received >= 74, "the tunnel dropped during the upgrade:\n\(pings)")

            let after = try c.team("robot1")
            #expect(try ifindex() == index, "the interface was recreated, not adopted")
            #expect(after.address == before.address && after.interface == before.interface)
            #expect(try c.exec("robot1", ["/usr/bin/teamwire", "status"]).out.contains("robot2"))

            // Removing the package (after systemd's stop) takes the interface down.
            try c.stop("robot1", "agent")
            let remove = try c.exec("robot1", ["dpkg", "--remove", "teamwire"], check: false)
            #expect(remove.status == 0, "\(remove.out)")
            #expect(try c.exec("robot1", ["ip", "link", "show", before.interface], check: false).status != 0,
                    "\(before.interface) outlived the package")
        }
    }
}
