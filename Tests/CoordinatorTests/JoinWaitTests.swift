import Foundation
import Testing
import TeamwireCore
import TestSupport

/// A real agent in a network namespace of its own, where every way of not reaching a
/// coordinator can be made: a closed port, an address with no route (an `unreachable` route),
/// an unknown network, a silent one (an nft rule drops what goes there), a server that closes the
/// connection before answering, and a real coordinator stopped and started again. The real CLI
/// talks to the agent through its socket (a file, so from outside the namespace).
final class AgentNetns: @unchecked Sendable {
    let ns = "twj\(getpid() % 10000)\(Int.random(in: 10..<100))"
    let dir = makeTempDir()
    var state: String { dir + "/agent" }
    var coordinatorState: String { dir + "/coordinator" }
    private var children: [(ChildProcess, String)] = []

    /// Answers nothing: the coordinator's port with no coordinator.
    static let closedPort = 7998
    /// Accepts, reads the request, closes without a word.
    static let earlyClosePort = 7999
    /// A real coordinator, when one runs.
    static let coordinatorPort = 7946

    static func with<R>(_ body: (AgentNetns) async throws -> R) async throws -> R {
        let lab = AgentNetns()
        defer { lab.teardown() }
        try await lab.build()
        return try await body(lab)
    }

    private func build() async throws {
        try run(["ip", "netns", "add", ns])
        try inside(["ip", "link", "set", "lo", "up"])
        // 198.51.100.0/25: "no route to host" at once. 198.51.100.128/25: a route, but an nft
        // rule drops every packet (a silent network: the connection times out). 203.0.113.0/24
        // and everything else: no route at all ("network is unreachable").
        try inside(["ip", "route", "add", "unreachable", "198.51.100.0/25"])
        try inside(["ip", "route", "add", "198.51.100.128/25", "dev", "lo"])
        try inside(["nft", "add table ip silent; add chain ip silent out { type filter hook output priority 0 ; }; add rule ip silent out ip daddr 198.51.100.128/25 drop"])
        try spawn("early-close", ["python3", "-c", """
            import socket
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", \(Self.earlyClosePort))); s.listen(16)
            while True:
                c, _ = s.accept(); c.recv(65536); c.close()
            """])
        try spawn("agent", [teamwireBinary(), "agent", "--state", state, "--backend", "userspace", "--no-mdns", "--log-level", "debug"])
        try await until("the agent answers") { try await runCLI(["status", "--state", self.state]).status == 0 }
        try await until("the early-closing server listens") {
            try self.inside(["python3", "-c", "import socket; socket.create_connection(('127.0.0.1', \(Self.earlyClosePort)), 1).close()"], check: false).status == 0
        }
    }

    func inside(_ args: [String], check: Bool = true) throws -> (status: Int32, out: String) {
        try run(["ip", "netns", "exec", ns] + args, check: check)
    }

    /// Starts `args` in the namespace, its output to `dir/NAME.log`; returns the process.
    @discardableResult
    func spawn(_ name: String, _ args: [String]) throws -> ChildProcess {
        let p = try ChildProcess.start(["ip", "netns", "exec", ns, "sh", "-c", "exec \"$@\" >\"$0\" 2>&1", log(name)] + args,
                                       environment: ProcessInfo.processInfo.environment)
        children.append((p, name))
        return p
    }

    func log(_ name: String) -> String { dir + "/\(name).log" }
    func output(_ name: String) -> String { (try? String(contentsOfFile: log(name), encoding: .utf8)) ?? "" }

    /// Stops a process `spawn` started, and waits for it.
    func stop(_ name: String, signal: Int32 = SIGTERM) -> Int32? {
        guard let i = children.firstIndex(where: { $0.1 == name }) else { return nil }
        let (p, _) = children.remove(at: i)
        kill(p.pid, signal)
        return p.wait().status
    }

    /// The ends of whatever runs in the namespace (the agent's wireguard-go too), then the namespace.
    private func teardown() {
        for (p, _) in children { kill(p.pid, SIGKILL) }
        for (p, _) in children { _ = p.wait() }
        if let pids = try? run(["ip", "netns", "pids", ns], check: false).out {
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        _ = try? run(["ip", "netns", "del", ns], check: false)
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// A token for team iris that sends the node to `endpoints` (signed by nobody: no request gets far enough to matter).
    static func token(_ endpoints: [String]) -> String {
        EnrolmentToken(id: TokenID.random(), secret: (0..<32).map { _ in UInt8.random(in: 0...255) }, coordinatorKey: PrivateKey.generate().publicKey,
                        team: "iris", endpoints: endpoints.map { Endpoint($0)! }).text
    }

    /// What the agent keeps of team iris: nothing, or the files there.
    var kept: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: state + "/teams/iris")) ?? []).sorted() }

    func until(_ what: String, timeout: Double = 20, _ cond: () async throws -> Bool) async throws {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if try await cond() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw LabError("timed out after \(timeout) s waiting until \(what)")
    }
}

extension IntegrationTests {
    /// Issue 16: `teamwire join` while the coordinator cannot be reached: one clear sentence for
    /// every way it can fail, progress while it waits, Ctrl-C, and the coordinator coming back.
    @Suite("Joining without a coordinator")
    struct JoinWaitTests {
        /// Library words that must never reach the person at the terminal.
        static let libraryWords = ["SingleConnectionFailure", "NIOConnectionError", "connectTimeout", "IOError", "ChannelError", "errno",
                                   "NIOPosix", "HTTPExchange", "Failure(", "description:", "DecodingError", "POSIXError"]

        /// The one error line of a failed command (standard error holds nothing else).
        static func errorLine(_ r: (status: Int32, out: String, err: String)) -> String {
            let lines = r.err.split(separator: "\n")
            #expect(lines.count == 1, "not one line: \(r.err)")
            for w in libraryWords { #expect(!r.err.contains(w), "library text \(w) in: \(r.err)") }
            #expect(r.err.hasPrefix("Error: "), "\(r.err)")
            return String(lines.first ?? "").replacingOccurrences(of: "Error: ", with: "")
        }

        @Test func everyWayOfNotReachingTheCoordinatorIsOneSentence() async throws {
            try await AgentNetns.with { lab in
                let cases: [([String], String)] = [
                    (["127.0.0.1:\(AgentNetns.closedPort)"], "cannot reach the coordinator at 127.0.0.1:\(AgentNetns.closedPort): connection refused"),
                    (["198.51.100.1:7946"], "cannot reach the coordinator at 198.51.100.1:7946: no route to host"),
                    (["203.0.113.1:7946"], "cannot reach the coordinator at 203.0.113.1:7946: network is unreachable"),
                    (["198.51.100.130:7946"], "cannot reach the coordinator at 198.51.100.130:7946: timed out after 3 s"),
                    (["127.0.0.1:\(AgentNetns.closedPort)", "203.0.113.1:7946"],
                     "cannot reach the coordinator at 127.0.0.1:\(AgentNetns.closedPort) (connection refused) or at 203.0.113.1:7946 (network is unreachable)"),
                ]
                for (endpoints, sentence) in cases {
                    let start = Date()
                    let r = try await runCLI(["join", AgentNetns.token(endpoints), "--name", "robot1", "--wait", "0", "--state", lab.state])
                    #expect(r.status == 1, "\(endpoints): exit \(r.status)")
                    #expect(Self.errorLine(r) == sentence + "; not asked again (--wait 0), nothing was changed")
                    #expect(r.out == "enrolling robot1 in team iris at \(endpoints.joined(separator: ", "))\n", "\(r.out)")
                    // One attempt: at most the 3 s connection timeout per endpoint.
                    #expect(Date().timeIntervalSince(start) < 6)
                    #expect(lab.kept.isEmpty, "\(endpoints) left \(lab.kept)")
                }

                // The server closes before answering: it may have enrolled the node, so the key
                // stays, and every later attempt uses the same key, even one that reaches nobody.
                let early = AgentNetns.token(["127.0.0.1:\(AgentNetns.earlyClosePort)"])
                var r = try await runCLI(["join", early, "--name", "robot1", "--wait", "0", "--state", lab.state])
                #expect(r.status == 1)
                #expect(Self.errorLine(r) == "the coordinator at 127.0.0.1:\(AgentNetns.earlyClosePort) closed the connection before answering "
                    + "(it may have enrolled this node); not asked again (--wait 0): its key is kept, run the same `teamwire join` again to finish")
                #expect(lab.kept == ["private.key"])
                let key = try String(contentsOfFile: lab.state + "/teams/iris/private.key", encoding: .utf8)
                r = try await runCLI(["join", AgentNetns.token(["203.0.113.1:7946"]), "--name", "robot1", "--wait", "0", "--state", lab.state])
                #expect(r.status == 1 && r.err.contains("network is unreachable"))
                #expect(try String(contentsOfFile: lab.state + "/teams/iris/private.key", encoding: .utf8) == key)
                // Asked again within --wait: quickly (it was there), each time said on standard error.
                r = try await runCLI(["join", early, "--name", "robot1", "--wait", "2", "--state", lab.state])
                let waits = r.err.split(separator: "\n").filter { $0.hasPrefix("the coordinator at 127.0.0.1:\(AgentNetns.earlyClosePort) closed the connection before answering (it may have enrolled this node); asking again in ") }
                #expect(waits.count >= 2, "\(r.err)")
                #expect(r.status == 1 && r.err.hasSuffix("gave up after 2 s: its key is kept, run the same `teamwire join` again to finish\n"), "\(r.err)")
                #expect(try String(contentsOfFile: lab.state + "/teams/iris/private.key", encoding: .utf8) == key)
            }
        }

        /// The coordinator is down when the robot joins: the CLI says so at every attempt, and
        /// the join finishes by itself once the coordinator is started, spending one use.
        @Test func joinWaitsForTheCoordinatorToComeBack() async throws {
            try await AgentNetns.with { lab in
                let listen = "127.0.0.1:\(AgentNetns.coordinatorPort)"
                let serve = [teamwireBinary(), "coordinator", "serve", "--state", lab.coordinatorState, "--listen", listen, "--no-hub", "--log-level", "warning"]
                try lab.spawn("coordinator", serve)
                let admin = ["--state", lab.coordinatorState]
                try await lab.until("the coordinator answers") { try await runCLI(["team", "list"] + admin).status == 0 }
                #expect(try await runCLI(["team", "create", "iris"] + admin).status == 0)
                let token = try await runCLI(["token", "create", "iris", "--uses", "1"] + admin).out.trimmingCharacters(in: .whitespacesAndNewlines)
                _ = lab.stop("coordinator")

                let join = try lab.spawn("join", [teamwireBinary(), "join", token, "--name", "robot1", "--wait", "120", "--state", lab.state])
                let waiting = "cannot reach the coordinator at \(listen): connection refused; asking again in "
                try await lab.until("the CLI has said twice that it waits") { lab.output("join").components(separatedBy: waiting).count > 2 }
                try lab.spawn("coordinator", serve)
                let done = Date()
                let status = join.wait().status
                let out = lab.output("join")
                print("join finished \(String(format: "%.1f", Date().timeIntervalSince(done))) s after the coordinator was started again")
                #expect(status == 0, "\(out)")
                #expect(out.contains("interface tw-iris up") && out.contains("joined team iris as robot1"), "\(out)")
                // Each wait is one line: what is wrong, when it asks again, when it gives up.
                let pattern = #/^cannot reach the coordinator at 127\.0\.0\.1:7946: connection refused; asking again in [0-9.]+ s \(gives up in (\d+m(\d+s)?|[0-9.]+ s)\)$/#
                let lines = out.split(separator: "\n").filter { $0.hasPrefix("cannot reach") }
                #expect(lines.count >= 2 && lines.allSatisfy { $0.wholeMatch(of: pattern) != nil }, "\(lines)")
                let tokens = try JSONDecoder().decode([TokenInfo].self, from: Data(try await runCLI(["token", "list", "iris", "--json"] + admin).out.utf8))
                #expect(tokens.map(\.uses) == [1])
                _ = try await runCLI(["leave", "iris", "--state", lab.state])
            }
        }

        /// Ctrl-C while waiting for a coordinator that never answers: stops at once, says so,
        /// exits 130, and leaves nothing: the agent's attempt in flight is cancelled too.
        @Test func ctrlCStopsTheWaitCleanly() async throws {
            try await AgentNetns.with { lab in
                let silent = AgentNetns.token(["198.51.100.130:7946"])
                let join = try lab.spawn("join", [teamwireBinary(), "join", silent, "--name", "robot1", "--wait", "600", "--state", lab.state])
                // Into the second attempt's 3 s connection timeout (the agent logs each attempt).
                try await lab.until("the CLI asks again") { lab.output("agent").components(separatedBy: ": enrolling coordinator=").count > 2 }
                try await Task.sleep(for: .milliseconds(300))
                let interrupted = Date()
                kill(join.pid, SIGINT)
                let status = join.wait().status
                #expect(Date().timeIntervalSince(interrupted) < 1)
                #expect(status == 130)
                let out = lab.output("join")
                #expect(out.contains("\ninterrupted: not joined to team iris (the same `teamwire join` picks up where this one stopped)\n"), "\(out)")
                for w in Self.libraryWords { #expect(!out.contains(w), "\(out)") }
                try await lab.until("the agent stops its attempt", timeout: 5) { lab.output("agent").contains("enrolment attempt stopped: `teamwire join` went away") }
                #expect(lab.kept.isEmpty, "\(lab.kept)")
                // Nothing is stuck in the agent: the next join is its own attempt at once.
                let r = try await runCLI(["join", AgentNetns.token(["203.0.113.1:7946"]), "--name", "robot1", "--wait", "0", "--state", lab.state])
                #expect(Self.errorLine(r).hasPrefix("cannot reach the coordinator at 203.0.113.1:7946: network is unreachable"))
            }
        }
    }
}
