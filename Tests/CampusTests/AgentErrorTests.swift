import Foundation
import Testing
import TeamwireCore
import TestSupport

/// What a user sees when something is wrong: one clear line, exit status 1, nothing changed.
extension CampusTests {
    @Test func clearErrorsWithoutAnAgent() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("tw-agent-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        var r = try run([Campus.binary, "join", "twt1-not-a-token", "--state", state], check: false)
        #expect(r.status == 1 && r.out.contains("bad token"), "\(r.out)")
        r = try run([Campus.binary, "status", "--state", state], check: false)
        #expect(r.status == 1 && r.out.contains("no teamwire agent is running") && r.out.contains("sudo teamwire agent"), "\(r.out)")
        r = try run([Campus.binary, "leave", "iris", "--state", state], check: false)
        #expect(r.status == 1 && r.out.contains("no teamwire agent is running"), "\(r.out)")
        // As nobody, from a copy nobody may run (the checkout may sit under a private home).
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("tw-nobody-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: Campus.binary, toPath: copy + "/teamwire")
        // `teamwire agent` is the daemon installed beside it: without it, a clear error.
        // (A process another test forks while a copy is open holds it for writing: retry "Text file busy".)
        for _ in 0..<20 {
            r = try run([copy + "/teamwire", "agent", "--state", state], check: false)
            if !r.out.contains("Text file busy") { break }
            usleep(100_000)
        }
        #expect(r.status == 1 && r.out.contains("the agent daemon \(copy)/teamwire-agent is missing"), "\(r.out)")
        let daemon = (Campus.binary as NSString).deletingLastPathComponent + "/teamwire-agent"
        try FileManager.default.copyItem(atPath: daemon, toPath: copy + "/teamwire-agent")
        for _ in 0..<20 {
            r = try run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", copy + "/teamwire", "agent", "--state", state], check: false)
            if !r.out.contains("Text file busy") { break }
            usleep(100_000)
        }
        #expect(r.status == 1 && r.out.contains("must run as root"), "\(r.out)")
        r = try run([Campus.binary, "agent", "--state", state, "--backend", "userspace", "--wireguard-go", "/nonexistent/wireguard-go"], check: false)
        #expect(r.status == 1 && r.out.contains("wireguard-go"), "\(r.out)")
        r = try run([Campus.binary, "agent", "--state", state, "--backend", "bogus"], check: false)
        #expect(r.status != 0 && r.out.contains("--backend must be auto, kernel or userspace"), "\(r.out)")
        r = try run([Campus.binary, "agent", "--state", state, "--ros-participants", "0"], check: false)
        #expect(r.status == 64 && r.out.contains("--ros-participants must be 1...120") && r.out.contains("Usage: teamwire-agent"), "\(r.out)")
        // The daemon's own help, through `teamwire agent`.
        r = try run([Campus.binary, "agent", "--help"], check: false)
        #expect(r.status == 0 && r.out.contains("USAGE: teamwire-agent") && r.out.contains("--ros-participants <n>"), "\(r.out)")
        #expect(!FileManager.default.fileExists(atPath: state + "/teams"))
    }

    /// A coordinator that does not answer, a second agent, a key others can read, a hostile
    /// body on the agent's socket: clear errors, and nothing left behind.
    @Test func clearErrorsFromTheAgent() async throws {
        try await Campus.with("e") { c in
            let token = try c.token(uses: 2)
            try await c.startAgent("robot1")
            // A second agent on the same state directory is refused.
            let second = try c.tw("robot1", ["agent", "--backend", "userspace"], check: false)
            #expect(second.status == 1 && second.out.contains("another teamwire agent is already running"), "\(second.out)")
            // The coordinator is away: the join waits --wait seconds, saying so, then fails
            // clearly: no team, no interface, no state.
            try c.stop("coord", "coordinator")
            let start = Date()
            var r = try c.tw("robot1", ["join", token, "--name", "robot1", "--wait", "3"], check: false)
            #expect(r.status == 1 && r.out.contains("cannot reach the coordinator at 192.0.2.2:7946: connection refused; asking again in "), "\(r.out)")
            #expect(r.out.contains("Error: cannot reach the coordinator at 192.0.2.2:7946: connection refused; gave up after 3 s, nothing was changed"), "\(r.out)")
            #expect(Date().timeIntervalSince(start) < 6)
            #expect(try c.status("robot1").teams.isEmpty)
            #expect(try c.exec("robot1", ["ip", "link", "show", "tw-iris"], check: false).status != 0)
            #expect(try c.exec("robot1", ["ls", "/var/lib/teamwire/teams"]).out.isEmpty)
            // A bad name is refused before anything is sent.
            r = try c.tw("robot1", ["join", token, "--name", "Robot_1"], check: false)
            #expect(r.status == 1 && r.out.contains("bad node name"), "\(r.out)")
            // Hostile bodies on the local socket change nothing.
            for body in ["{", "{\"token\": 5}", String(repeating: "x", count: 100_000)] {
                let out = try c.exec("robot1", ["curl", "-s", "--unix-socket", "/var/lib/teamwire/agent.sock", "-d", body, "http://agent/v1/join"]).out
                #expect(out.contains("\"error\""), "\(out)")
            }
            // The coordinator is back: the same token still works (nothing was spent).
            try await c.startCoordinator()
            r = try c.tw("robot1", ["join", token, "--name", "robot1", "--wait", "0"], check: false)
            #expect(r.status == 0, "\(r.out)")
            let key = try c.exec("robot1", ["stat", "-c", "%a", "/var/lib/teamwire/teams/iris/private.key"]).out
            #expect(key.trimmingCharacters(in: .whitespacesAndNewlines) == "600")
            #expect(try c.exec("robot1", ["stat", "-c", "%a", "/var/lib/teamwire/agent.sock"]).out.hasPrefix("600"))
            // A key others can read is refused at the next start (restore), with the fix in the message.
            try c.stop("robot1", "agent")
            try c.exec("robot1", ["chmod", "644", "/var/lib/teamwire/teams/iris/private.key"])
            try await c.startAgent("robot1")
            #expect(try c.status("robot1").teams.isEmpty)
            #expect(c.log("robot1", "agent").contains("chmod 600"))
        }
    }
}
