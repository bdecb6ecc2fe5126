import Foundation
import Testing
import TeamwireCore
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// Group access to the daemons' sockets, for real: the agent and the coordinator started
    /// as root with --socket-group naming a group that exists here, the CLI run as uid 65534
    /// with and without that group (setpriv), as the ROS user or an operator would.
    @Suite("Socket groups")
    struct SocketGroupTests {
        /// A group of this machine that is neither root's nor nobody's.
        static func testGroup() throws -> (name: String, gid: gid_t) {
            for name in ["users", "staff", "adm"] {
                if let g = getgrnam(name), g.pointee.gr_gid != 0, g.pointee.gr_gid != 65534 { return (name, g.pointee.gr_gid) }
            }
            throw LogError("no group users, staff or adm on this machine")
        }

        /// The teamwire binary copied where uid 65534 may run it (the checkout may sit under a
        /// private home); the caller removes the directory.
        static func unprivilegedTeamwire() throws -> (dir: String, path: String) {
            let dir = makeTempDir()
            chmod(dir, 0o755)
            try FileManager.default.copyItem(atPath: teamwireBinary(), toPath: dir + "/teamwire")
            return (dir, dir + "/teamwire")
        }

        /// `teamwire ARGS` as uid/gid 65534, with `group` as its one supplementary group (nil: none).
        static func asNobody(_ teamwire: String, group: gid_t?, _ args: [String]) async throws -> (status: Int32, out: String, err: String) {
            let groups = group.map { "--groups=\($0)" } ?? "--clear-groups"
            var r = (status: Int32(0), out: "", err: "")
            // A process another test forks while the copy is open holds it for writing: retry "Text file busy".
            for _ in 0..<20 {
                r = try await runCLI(["setpriv", "--reuid=65534", "--regid=65534", groups, teamwire] + args, executable: "/usr/bin/env")
                if !r.err.contains("Text file busy") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            return r
        }

        static var agentBinary: String { URL(fileURLWithPath: teamwireBinary()).deletingLastPathComponent().appendingPathComponent("teamwire-agent").path }

        static func mode(_ path: String) throws -> (mode: mode_t, uid: uid_t, gid: gid_t) {
            var st = stat()
            guard stat(path, &st) == 0 else { throw LogError("cannot stat \(path)") }
            return (st.st_mode & 0o7777, st.st_uid, st.st_gid)
        }

        /// A token that parses (the CLI checks it before asking the agent); no coordinator is behind it.
        static var someToken: String {
            EnrolmentToken(id: .random(), secret: Array(repeating: 7, count: 32), coordinatorKey: PrivateKey.generate().publicKey,
                            team: "iris", endpoints: [Endpoint("127.0.0.1:9")!]).text
        }

        @Test func agentStatusForItsGroupJoinAndLeaveForRootOnly() async throws {
            let group = try Self.testGroup()
            let state = makeTempDir()
            let tw = try Self.unprivilegedTeamwire()
            defer { try? FileManager.default.removeItem(atPath: state); try? FileManager.default.removeItem(atPath: tw.dir) }
            let agent = try DaemonProcess.start([Self.agentBinary, "--state", state, "--no-mdns", "--socket-group", group.name, "--log-format", "json"])
            defer { agent.stop() }
            try await eventually("the agent answers", timeout: .seconds(15)) { agent.isRunning ? try await runCLI(["status", "--state", state]).status == 0 : true }
            try #require(agent.isRunning, "\(agent.stderr)")
            let sock = state + "/agent.sock"
            let m = try Self.mode(sock)
            #expect(m.mode == 0o660 && m.uid == 0 && m.gid == group.gid, "agent.sock is \(String(m.mode, radix: 8)) \(m.uid):\(m.gid)")

            // A member of the group reads the status without root.
            var r = try await Self.asNobody(tw.path, group: group.gid, ["status", "--state", state])
            #expect(r.status == 0 && r.out == "not joined to any team (teamwire join TOKEN)\n", "\(r)")
            // Ping only probes: the group may (the agent's own answer, not a refusal).
            r = try await Self.asNobody(tw.path, group: group.gid, ["ping", "robot2", "--state", state])
            #expect(r.status == 1 && r.err == "Error: not joined to any team (teamwire join TOKEN)\n", "\(r)")
            // Joining and leaving change the node: root only (the agent asks the kernel who calls).
            r = try await Self.asNobody(tw.path, group: group.gid, ["leave", "iris", "--state", state])
            #expect(r.status == 1 && r.err == "Error: leaving a team changes this node's network and needs root: run it with sudo\n", "\(r)")
            r = try await Self.asNobody(tw.path, group: group.gid, ["join", Self.someToken, "--name", "robot1", "--state", state])
            #expect(r.status == 1 && r.err.hasSuffix("Error: joining a team changes this node's network and needs root: run it with sudo\n"), "\(r)")
            // Root gets past that check (to the agent's own answer).
            r = try await runCLI(["leave", "iris", "--state", state])
            #expect(r.status == 1 && r.err.contains("not a member of team iris"), "\(r)")

            // Without the group: one sentence naming the group to join.
            r = try await Self.asNobody(tw.path, group: nil, ["status", "--state", state])
            #expect(r.status == 1 && r.out.isEmpty)
            #expect(r.err == "Error: permission denied on \(sock): run as root (sudo), or join group \(group.name) (sudo usermod -aG \(group.name) $USER, then log in again)\n")

            // --log-format json: every line of the real daemon's stderr is one JSON object.
            let (status, log) = agent.stop()
            #expect(status == 0, "\(log)")
            let lines = log.split(separator: "\n")
            #expect(!lines.isEmpty)
            var ready: [String: Any]?
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                #expect(Set(object.keys) == ["time", "level", "label", "message", "metadata"], "\(line)")
                #expect((object["time"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(line)")
                #expect(object["label"] as? String == "teamwire.agent", "\(line)")
                if object["message"] as? String == "agent socket ready" { ready = object }
            }
            let readyLog = try #require(ready, "\(log)")
            #expect(readyLog["level"] as? String == "info")
            #expect(readyLog["metadata"] as? [String: String] == ["path": sock, "mode": "0660", "group": group.name], "\(readyLog)")
        }

        /// A member of the group cannot take the agent's file descriptors: it holds at most 8
        /// connections at once, one that never sends a request is closed after 5 s, and root's
        /// commands get through meanwhile.
        @Test func groupMemberCannotExhaustTheAgentSocket() async throws {
            let group = try Self.testGroup()
            let state = makeTempDir()
            chmod(state, 0o711)
            defer { try? FileManager.default.removeItem(atPath: state) }
            let agent = try DaemonProcess.start([Self.agentBinary, "--state", state, "--no-mdns", "--socket-group", group.name])
            defer { agent.stop() }
            try await eventually("the agent answers", timeout: .seconds(15)) { agent.isRunning ? try await runCLI(["status", "--state", state]).status == 0 : true }
            // 12 silent connections as nobody: which ones the agent closes at once, which after
            // its request deadline, and how long the rest stayed open.
            let script = """
                import socket, sys, time
                conns = []
                for i in range(12):
                    c = socket.socket(socket.AF_UNIX); c.connect(sys.argv[1]); conns.append(c)
                time.sleep(0.5)
                refused = 0
                for c in conns:
                    c.setblocking(False)
                    try:
                        refused += c.recv(1) == b""
                    except BlockingIOError:
                        pass
                print("refused", refused, flush=True)
                open(sys.argv[2], "w").close()
                start = time.time()
                for c in conns:
                    c.setblocking(True); c.settimeout(10); c.recv(1)
                print("all closed after %.1f" % (time.time() - start), flush=True)
                """
            // nobody writes this when its connections are open (/tmp: it may not write the state dir).
            let marker = "/tmp/tw-held-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            defer { unlink(marker) }
            let holder = try ChildProcess.start(["setpriv", "--reuid=65534", "--regid=65534", "--groups=\(group.gid)",
                                                 "/usr/bin/python3", "-c", script, state + "/agent.sock", marker],
                                                environment: ["PATH": "/usr/bin:/bin"])
            try await eventually("the connections are held", timeout: .seconds(10)) { FileManager.default.fileExists(atPath: marker) || !agent.isRunning }
            // While nobody holds its 8, root still gets answers.
            #expect(try await runCLI(["status", "--state", state]).status == 0)
            let r = holder.wait()
            #expect(r.out.contains("refused 4"), "\(r.out)")
            let closedAfter = r.out.firstMatch(of: /all closed after ([0-9.]+)/).flatMap { Double($0.1) }
            #expect(closedAfter.map { $0 < 7 } == true, "silent connections must be closed by the request deadline: \(r.out)")
            #expect(agent.isRunning, "\(agent.stderr)")
        }

        @Test func agentWithoutItsGroupKeepsTheSocketRootsAlone() async throws {
            let state = makeTempDir()
            let tw = try Self.unprivilegedTeamwire()
            defer { try? FileManager.default.removeItem(atPath: state); try? FileManager.default.removeItem(atPath: tw.dir) }
            let missing = "tw-no-such-group"
            try #require(getgrnam(missing) == nil)
            let agent = try DaemonProcess.start([Self.agentBinary, "--state", state, "--no-mdns", "--socket-group", missing, "--log-level", "debug"])
            defer { agent.stop() }
            try await eventually("the agent answers", timeout: .seconds(15)) { agent.isRunning ? try await runCLI(["status", "--state", state]).status == 0 : true }
            try #require(agent.isRunning, "\(agent.stderr)")
            let m = try Self.mode(state + "/agent.sock")
            #expect(m.mode == 0o600 && m.uid == 0 && m.gid == 0, "agent.sock is \(String(m.mode, radix: 8)) \(m.uid):\(m.gid)")
            let r = try await Self.asNobody(tw.path, group: try Self.testGroup().gid, ["status", "--state", state])
            #expect(r.status == 1 && r.err == "Error: permission denied on \(state)/agent.sock: it is root's alone; run as root (sudo), or create group teamwire (sudo groupadd --system teamwire) and restart the agent so that its members may use it\n", "\(r)")

            // The text log: millisecond local times, and the missing group said at debug.
            let (_, log) = agent.stop()
            let lines = log.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(line.prefixMatch(of: #/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (trace|debug|info|notice|warning|error|critical) teamwire\.agent: /#) != nil, "\(line)")
            }
            #expect(log.contains(" debug teamwire.agent: no such group: agent.sock stays root's alone group=\(missing)\n"), "\(log)")
        }

        /// Root without CAP_CHOWN (a unit that drops it) cannot give the socket to the group: the
        /// agent says so and runs on with the socket root's alone.
        @Test func agentWithoutCapChownKeepsTheSocketRootsAlone() async throws {
            let group = try Self.testGroup()
            let state = makeTempDir()
            defer { try? FileManager.default.removeItem(atPath: state) }
            let agent = try DaemonProcess.start(["setpriv", "--bounding-set=-chown", "--inh-caps=-chown", Self.agentBinary, "--state", state, "--no-mdns",
                                                 "--socket-group", group.name])
            defer { agent.stop() }
            try await eventually("the agent answers", timeout: .seconds(15)) { agent.isRunning ? try await runCLI(["status", "--state", state]).status == 0 : true }
            try #require(agent.isRunning, "\(agent.stderr)")
            let m = try Self.mode(state + "/agent.sock")
            #expect(m.mode == 0o600 && m.uid == 0 && m.gid == 0, "agent.sock is \(String(m.mode, radix: 8)) \(m.uid):\(m.gid)")
            let (_, log) = agent.stop()
            #expect(log.contains(" warning teamwire.agent: agent socket stays root's alone error=\"cannot chown \(state)/agent.sock: Operation not permitted\"\n"), "\(log)")
        }

        /// The admin socket for its group, and the log as systemd's journal takes it.
        @Test func coordinatorAdminSocketForItsGroupUnderTheJournal() async throws {
            let group = try Self.testGroup()
            let state = makeTempDir()
            let tw = try Self.unprivilegedTeamwire()
            defer { try? FileManager.default.removeItem(atPath: state); try? FileManager.default.removeItem(atPath: tw.dir) }
            let coordinator = try DaemonProcess.start([teamwireBinary(), "coordinator", "serve", "--state", state, "--listen", "127.0.0.1:0", "--no-hub",
                                                       "--socket-group", group.name], journal: true)
            defer { coordinator.stop() }
            try await eventually("the coordinator answers", timeout: .seconds(15)) {
                coordinator.isRunning ? try await runCLI(["team", "list", "--state", state]).status == 0 : true
            }
            try #require(coordinator.isRunning, "\(coordinator.stderr)")

            // The group reaches the socket through the directory; the database and key stay root's.
            let dir = try Self.mode(state)
            #expect(dir.mode == 0o710 && dir.uid == 0 && dir.gid == group.gid, "state directory is \(String(dir.mode, radix: 8)) \(dir.uid):\(dir.gid)")
            let sock = try Self.mode(state + "/admin.sock")
            #expect(sock.mode == 0o660 && sock.uid == 0 && sock.gid == group.gid, "admin.sock is \(String(sock.mode, radix: 8)) \(sock.uid):\(sock.gid)")
            for file in ["coordinator.db", "coordinator.key"] {
                let f = try Self.mode(state + "/" + file)
                #expect(f.mode == 0o600 && f.uid == 0 && f.gid == 0, "\(file) is \(String(f.mode, radix: 8)) \(f.uid):\(f.gid)")
            }

            var r = try await Self.asNobody(tw.path, group: group.gid, ["team", "create", "iris", "--state", state])
            #expect(r.status == 0 && r.out.contains("created team iris"), "\(r)")
            r = try await Self.asNobody(tw.path, group: group.gid, ["team", "list", "--state", state])
            #expect(r.status == 0 && r.out.contains("iris"), "\(r)")
            r = try await Self.asNobody(tw.path, group: nil, ["team", "list", "--state", state])
            #expect(r.status == 1 && r.out.isEmpty)
            #expect(r.err == "Error: permission denied on \(state)/admin.sock: run as root (sudo), or join group \(group.name) (sudo usermod -aG \(group.name) $USER, then log in again)\n")

            // Under the journal: a priority prefix on every line, no timestamp (journald adds it).
            let (status, log) = coordinator.stop()
            #expect(status == 0, "\(log)")
            let lines = log.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                #expect(line.prefixMatch(of: #/<[2-7]>(debug|info|notice|warning|error|critical) teamwire\.coordinator: /#) != nil, "\(line)")
                #expect(line.firstMatch(of: /\d\d:\d\d:\d\d/) == nil, "\(line)")
            }
            #expect(log.contains("<6>info teamwire.coordinator: admin socket ready group=\(group.name) mode=0660 path=\(state)/admin.sock\n"), "\(log)")
        }
    }
}
