import Foundation
import TeamwireCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The campus of `scripts/campus-lab` with the real coordinator and real agents (wireguard-go)
/// in it, driven the way a user drives them: the `teamwire` binary and the lab's commands.
/// Every test gets its own lab (own LAB prefix) and tears it down, failures included.
final class Campus: @unchecked Sendable {
    let lab: String
    let coordinatorAddress = "192.0.2.2"
    static let robots = ["robot1", "robot2", "robot3"]
    static let members = robots + ["laptop"]

    private init(lab: String) { self.lab = lab }

    /// Builds the lab, starts the coordinator with its hub, creates `teams`; always tears down.
    static func with<R>(_ tag: String, teams: [String] = ["iris"], _ body: (Campus) async throws -> R) async throws -> R {
        let c = Campus(lab: "tc" + tag)
        _ = try? c.lab(["down"])
        defer { _ = try? c.lab(["down"]) }
        do {
            try c.lab(["up"])
            try await c.startCoordinator()
            for t in teams { try c.tw("coord", ["team", "create", t]) }
            return try await body(c)
        } catch {
            // The logs say why; print them with the failure.
            for line in (try? c.lab(["status"]).out)?.split(separator: "\n") ?? [] { print("[\(c.lab)] \(line)") }
            // Every process the test spawned (coordinator, agents, ROS, daemons): HOST-NAME.log.
            let logs = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/\(c.lab)/logs")) ?? []).sorted()
            for file in logs where file.hasSuffix(".log") {
                let log = (try? String(contentsOfFile: "/run/\(c.lab)/logs/\(file)", encoding: .utf8)) ?? ""
                if !log.isEmpty { print("--- \(file) (tail)\n" + log.split(separator: "\n").suffix(40).joined(separator: "\n")) }
            }
            throw error
        }
    }

    // MARK: the lab script

    @discardableResult
    func lab(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try run([Self.repo + "/scripts/campus-lab"] + args, env: ["LAB": lab], check: check)
    }

    @discardableResult
    func exec(_ host: String, _ cmd: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try lab(["exec", host, "--"] + cmd, check: check)
    }

    /// Runs the real CLI on a host.
    @discardableResult
    func tw(_ host: String, _ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try exec(host, [Self.binary] + args, check: check)
    }

    func spawn(_ host: String, _ name: String, _ cmd: [String]) throws { try lab(["spawn", host, name, "--"] + cmd) }
    func stop(_ host: String, _ name: String, signal: String = "TERM") throws { try lab(["stop", host, name, signal]) }
    /// Whether a process spawned as `name` on `host` still runs.
    func running(_ host: String, _ name: String) -> Bool {
        guard let text = try? String(contentsOfFile: "/run/\(lab)/pids/\(host)-\(name).pid", encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return false }
        return kill(pid, 0) == 0
    }

    func log(_ host: String, _ name: String) -> String { (try? lab(["log", host, name]).out) ?? "" }
    func isolation(_ on: Bool) throws { try lab(["isolation", on ? "on" : "off"]) }
    func roam(_ host: String, to subnet: String) throws { try lab(["roam", host, subnet]) }

    // MARK: teamwire

    func startCoordinator() async throws {
        try spawn("coord", "coordinator", [Self.binary, "coordinator", "serve", "--listen", "\(coordinatorAddress):7946", "--hub-backend", "userspace"])
        try await until("the coordinator answers", timeout: 20) { try self.tw("coord", ["team", "list"], check: false).status == 0 }
    }

    func startAgent(_ host: String) async throws {
        try spawn(host, "agent", [Self.binary, "agent", "--backend", "userspace", "--log-level", "debug"])
        try await until("\(host)'s agent answers", timeout: 20) { try self.tw(host, ["status"], check: false).status == 0 }
    }

    func token(_ team: String = "iris", uses: Int = 10, role: String = "robot") throws -> String {
        try tw("coord", ["token", "create", team, "--uses", "\(uses)", "--role", role]).out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Starts the agent on each host and joins it (waiting for every member already there).
    func join(_ hosts: [String], team: String = "iris") async throws {
        let t = try token(team, uses: hosts.count)
        for h in hosts {
            try await startAgent(h)
            try tw(h, ["join", t, "--name", h, "--wait", "15"])
        }
    }

    func status(_ host: String) throws -> AgentStatus {
        let out = try tw(host, ["status", "--json"]).out
        return try JSONDecoder().decode(AgentStatus.self, from: Data(out.utf8))
    }

    func team(_ host: String, _ team: String = "iris") throws -> TeamStatus {
        guard let t = try status(host).teams.first(where: { $0.team == team }) else { throw LabError("\(host) is not in team \(team)") }
        return t
    }

    func overlay(_ host: String, _ team: String = "iris") throws -> IPv4Address { try self.team(host, team).address }

    func path(_ from: String, to: String, _ team: String = "iris") throws -> Path? {
        try self.team(from, team).members.first { $0.name == to }?.path
    }

    /// One ping over the overlay; true if answered.
    func ping(_ from: String, _ to: IPv4Address, wait: Int = 1) throws -> Bool {
        try exec(from, ["ping", "-n", "-c", "1", "-W", "\(wait)", to.description], check: false).status == 0
    }

    // MARK: helpers

    /// Polls `cond` every 100 ms until true or `timeout` seconds; throws with `what` on timeout.
    func until(_ what: String, timeout: Double, _ cond: () throws -> Bool) async throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try cond() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabError("timed out after \(timeout) s waiting until \(what)")
    }

    static let repo: String = {
        // $TEAMWIRE_REPO: a copy of the repository run from outside the path it was built at
        // (campus-lab cannot pin mount namespaces from inside another private one on new kernels).
        if let p = ProcessInfo.processInfo.environment["TEAMWIRE_REPO"] { return p }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The built `teamwire` executable, beside the test bundle (or $TEAMWIRE_BIN).
    static let binary: String = {
        if let p = ProcessInfo.processInfo.environment["TEAMWIRE_BIN"] { return p }
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDir, bundleDir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("teamwire").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return repo + "/.build/debug/teamwire"
    }()
}
