import Foundation
import Testing
import TeamwireCore
import TestSupport

/// Issue 16: `teamwire ping NAME` on the campus lab: the path each probe took (direct to the
/// member's endpoint, or via the hub once Wi-Fi client isolation blocks the direct path), a
/// plausible time, a member that does not answer, and names it cannot ping. (In the Campus
/// suite: one lab at a time.)
extension CampusTests {
    @Test func pingSaysThePathAndTheTime() async throws {
        try await Campus.with("p") { c in
            try await c.join(["robot1", "robot2"])
            let r2 = try c.overlay("robot2")
            try await c.until("robot1 and robot2 are direct", timeout: 10) {
                try c.path("robot1", to: "robot2") == .direct && c.path("robot2", to: "robot1") == .direct
            }
            let endpoint = try #require(try c.team("robot1").members.first { $0.name == "robot2" }?.peer.endpoint)
            #expect(endpoint.host == .ipv4(IPv4Address("192.0.2.12")!))

            // Direct: every probe answered, to robot2's own endpoint.
            var r = try c.tw("robot1", ["ping", "robot2", "-c", "3"])
            var times = try Self.replies(r.out, from: "robot2", address: r2, path: "direct to \(endpoint)")
            #expect(times.count == 3, "\(r.out)")
            #expect(r.out.contains("--- robot2 (\(r2)) in team iris: 3 probes, 3 answered, 0% lost; time min/avg/max "), "\(r.out)")
            print("ping direct: \(times.map { String(format: "%.2f", $0) }.joined(separator: ", ")) ms")

            // Client isolation: the direct path is cut, the probes go through the hub. (Traffic
            // meanwhile, as in use: a path with nothing sent is looked at only when idle looks come.)
            try c.spawn("robot1", "traffic", ["ping", "-n", "-i", "0.2", r2.description])
            try c.isolation(true)
            try await c.until("robot1 reaches robot2 through the hub", timeout: 10) {
                try c.path("robot1", to: "robot2") == .relay && c.ping("robot1", r2, wait: 1)
            }
            try c.stop("robot1", "traffic", signal: "INT")
            let hub = try #require(try c.team("robot1").hub.endpoint)
            #expect(hub.host == .ipv4(IPv4Address(c.coordinatorAddress)!))
            r = try c.tw("robot1", ["ping", "robot2", "--team", "iris", "-c", "3"])
            times = try Self.replies(r.out, from: "robot2", address: r2, path: "via the hub at \(hub)")
            #expect(times.count == 3, "\(r.out)")
            print("ping via the hub: \(times.map { String(format: "%.2f", $0) }.joined(separator: ", ")) ms")
            try c.isolation(false)

            // The agent uses a ping socket where the group may (systemd's default), a raw one elsewhere.
            #expect(c.log("robot1", "agent").contains("socket=raw"))
            try c.exec("robot1", ["sysctl", "-qw", "net.ipv4.ping_group_range=0 0"])
            r = try c.tw("robot1", ["ping", "robot2", "-c", "1"])
            #expect(r.out.contains("1 probe, 1 answered"), "\(r.out)")
            #expect(c.log("robot1", "agent").contains("socket=datagram"))

            // A member that does not answer: one line per probe, exit 1.
            try c.exec("robot2", ["ip", "link", "set", "tw-iris", "down"])
            let start = Date()
            r = try c.tw("robot1", ["ping", "robot2", "-c", "2", "--timeout", "0.5"], check: false)
            #expect(r.status == 1, "\(r.out)")
            #expect(r.out.components(separatedBy: "no reply from robot2 (\(r2)): seq=").count == 3, "\(r.out)")
            #expect(r.out.contains("2 probes, 0 answered, 100% lost"), "\(r.out)")
            #expect(Date().timeIntervalSince(start) < 5)
            try c.exec("robot2", ["ip", "link", "set", "tw-iris", "up"])

            // Names it cannot ping: one sentence each, the members listed.
            r = try c.tw("robot1", ["ping", "robot9"], check: false)
            #expect(r.status == 1 && r.out == "Error: no member named robot9 in team iris (members: robot2)\n", "\(r.out)")
            r = try c.tw("robot1", ["ping", "robot2", "--team", "hera"], check: false)
            #expect(r.status == 1 && r.out == "Error: not a member of team hera (joined: iris)\n", "\(r.out)")
            r = try c.tw("robot1", ["ping", "robot1"], check: false)
            #expect(r.status == 1 && r.out == "Error: robot1 is this node (in team iris)\n", "\(r.out)")
            r = try c.tw("robot1", ["ping", "robot2", "-c", "0"], check: false)
            #expect(r.status != 0 && r.out.contains("--count must be 1...10000"), "\(r.out)")
        }
    }

    /// The round-trip times (ms) of the reply lines in `out`, each checked for its member,
    /// address, sequence number and path.
    static func replies(_ out: String, from name: String, address: IPv4Address, path: String) throws -> [Double] {
        var times: [Double] = []
        for line in out.split(separator: "\n") where line.hasPrefix("reply from") {
            let prefix = "reply from \(name) (\(address)): seq=\(times.count + 1) time="
            let suffix = " ms, \(path)"
            guard line.hasPrefix(prefix), line.hasSuffix(suffix),
                  let ms = Double(line.dropFirst(prefix.count).dropLast(suffix.count)) else {
                throw LabError("unexpected line: \(line) (wanted \(prefix)N\(suffix))")
            }
            // Plausible: more than nothing, far less than a second in a lab on one machine.
            #expect(ms > 0 && ms < 500, "\(line)")
            times.append(ms)
        }
        return times
    }
}
