import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The launch files' agent node (nodes/agent) and overlay wait (nodes/wait_for_overlay), run for
/// real against a real agent (root, its own state directory, no team joined: no interface), as
/// root and as user nobody (the ROS unit's ordinary user). The joined case is in CampusTests.
@Suite("The ROS package's agent node and overlay wait, against a real agent", .serialized)
struct RosNodeScriptTests {
    /// The agent node as nobody, with roslaunch's extra arguments.
    static func nobodyNode(_ robot: RobotInstall) throws -> Background {
        try Background(RosPackage.asNobody + [robot.node("agent"), "--state", robot.state, "__name:=teamwire_agent", "__log:=/dev/null"],
                       environment: robot.env())
    }

    /// Waits until the node has said its line and settled into `sleep infinity`, then checks it
    /// stays there (a node that exits would be respawned by the launch, forever).
    static func expectWaitsQuietly(_ node: Background, saying needle: String) async throws {
        let settled = try await node.until(timeout: 10) { node.commandLine == ["sleep", "infinity"] }
        #expect(settled, "the node did not settle: \(node.commandLine) \(node.output)")
        try await Task.sleep(for: .seconds(2))
        #expect(node.running, "the node exited (the launch would respawn it): \(node.output)")
        #expect(node.commandLine == ["sleep", "infinity"], "\(node.commandLine)")
        #expect(RosPackage.count(needle, in: node.output) == 1, "\(node.output)")
        #expect(node.output.split(separator: "\n").count == 1, "one sentence, once: \(node.output)")
    }

    @Test("a user who may not use the agent's socket: the agent node says to join the teamwire group, starts no agent, stays up")
    func nodeDeniedBySocket() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("node-denied")
        defer { robot.remove() }
        let agent = try await TestAgent.start(robot)
        defer { agent.stop() }
        let node = try Self.nobodyNode(robot)
        defer { node.stop() }
        try await Self.expectWaitsQuietly(node, saying: "add the user to the teamwire group (sudo usermod -aG teamwire nobody)")
        #expect(TestAgent.processes(state: robot.state) == [agent.process.pid], "a second agent was started")
    }

    @Test("a member of the socket's group: the agent node sees the running agent and stays up")
    func nodeInSocketGroup() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("node-group")
        defer { robot.remove() }
        let agent = try await TestAgent.start(robot)
        defer { agent.stop() }
        // As the agent does for the teamwire group: group nobody's here (setpriv gives that gid).
        try run(["chgrp", "65534", agent.socket])
        try run(["chmod", "0660", agent.socket])
        let node = try Self.nobodyNode(robot)
        defer { node.stop() }
        try await Self.expectWaitsQuietly(node, saying: "the teamwire agent already runs")
        #expect(TestAgent.processes(state: robot.state) == [agent.process.pid])
    }

    @Test("no agent and not root: the agent node says only root can start one, starts none, stays up")
    func nodeNoAgentNotRoot() async throws {
        try #require(Install.isRoot, "setpriv to nobody")
        let robot = try RobotInstall("node-none")
        defer { robot.remove() }
        let node = try Self.nobodyNode(robot)
        defer { node.stop() }
        try await Self.expectWaitsQuietly(node, saying: "only root can start one")
        #expect(TestAgent.processes(state: robot.state).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: robot.state), "something made the state directory")
    }

    @Test("root with no agent: the agent node becomes the agent; a second node only keeps the launch company")
    func nodeAsRootStartsOneAgent() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("node-root")
        defer { robot.remove() }
        let first = try Background([robot.node("agent"), "--state", robot.state, "--no-mdns", "__name:=teamwire_agent"], environment: robot.env())
        defer { first.stop() }
        let up = try await first.until(timeout: 20) {
            (try? CleanSpawn.run([robot.teamwire, "status", "--state", robot.state], environment: robot.env()).status) == 0
        }
        #expect(up, "no agent answers: \(first.output)")
        // It replaced itself with the agent (what roslaunch supervises and respawns if it dies).
        #expect(first.commandLine.first?.hasSuffix("teamwire-agent") == true, "\(first.commandLine)")
        #expect(first.output.contains("starting one"), "\(first.output)")
        let second = try Background([robot.node("agent"), "--state", robot.state, "--no-mdns"], environment: robot.env())
        defer { second.stop() }
        try await Self.expectWaitsQuietly(second, saying: "the teamwire agent already runs")
        #expect(TestAgent.processes(state: robot.state) == [first.pid])
    }

    @Test("root, and an agent holds the lock without answering yet: the agent node leaves it alone")
    func nodeAsRootLeavesLockedAgent() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("node-locked")
        defer { robot.remove() }
        try FileManager.default.createDirectory(atPath: robot.state, withIntermediateDirectories: true)
        // An agent that is still starting holds agent.lock (TeamStore.lock) before its socket answers.
        let lock = robot.state + "/agent.lock"
        let holder = try Background(["flock", lock, "sleep", "60"], environment: robot.env())
        defer { holder.stop() }
        let held = try await holder.until(timeout: 5) {
            (try? CleanSpawn.run(["flock", "--nonblock", lock, "true"], environment: robot.env()).status) != 0
        }
        #expect(held, "flock did not take the lock: \(holder.output)")
        let node = try Background([robot.node("agent"), "--state", robot.state, "--no-mdns"], environment: robot.env())
        defer { node.stop() }
        try await Self.expectWaitsQuietly(node, saying: "holds \(robot.state)/agent.lock but does not answer")
        #expect(TestAgent.processes(state: robot.state).isEmpty, "a second agent was started beside the lock holder")
    }

    /// The bug of issue 16: teamwire-ros.service (User=robot) runs robot.launch; the agent node got
    /// "permission denied", started an agent as non-root, which failed, and roslaunch respawned it
    /// every 2 s. Here: real roslaunch (it starts its own master), as nobody, in a network namespace
    /// of its own (loopback only), with the package on ROS_PACKAGE_PATH as the .deb installs it.
    @Test("roslaunch robot.launch as a user who may not use the agent's socket: the agent node is never respawned")
    func roslaunchDoesNotRespawn() async throws {
        try #require(Install.isRoot, "the agent runs as root; unshare needs root")
        let robot = try RobotInstall("roslaunch")
        defer { robot.remove() }
        try FileManager.default.createDirectory(atPath: robot.dir + "/home", withIntermediateDirectories: true)
        try run(["chown", "65534:65534", robot.dir + "/home"])
        let agent = try await TestAgent.start(robot)
        defer { agent.stop() }
        let env = robot.env(["ROS_IP": "127.0.0.1", "ROS_MASTER_URI": "http://127.0.0.1:11311"])
        let launch = try Background(["unshare", "--net", "sh", "-c", "ip link set lo up && exec \"$@\"", "sh"]
                                    + RosPackage.asNobody + ["roslaunch", "teamwire_ros", "robot.launch", "state:=" + robot.state],
                                    environment: env)
        defer { launch.stop() }
        let said = try await launch.until(timeout: 40) { launch.output.contains("add the user to the teamwire group") }
        #expect(said, "the agent node did not say why it cannot use the agent:\n\(launch.output)")
        let start = ContinuousClock.now
        // Three respawn delays (respawn_delay="2") with the talker and listener running.
        try await Task.sleep(for: .seconds(6))
        let out = launch.output
        #expect(launch.running, "roslaunch ended:\n\(out)")
        #expect(RosPackage.count("process[teamwire_agent-", in: out) == 1, "the agent node started more than once:\n\(out)")
        #expect(!out.contains("restarting process") && !out.contains("process has died"), "\(out)")
        #expect(TestAgent.processes(state: robot.state) == [agent.process.pid])
        print("roslaunch kept one agent node for \(String(format: "%.1f", RosPackage.seconds(since: start))) s after it spoke")
    }

    // MARK: wait_for_overlay

    /// Runs the wait with a short timeout; returns its status, output and how long it took.
    static func wait(_ robot: RobotInstall, _ args: [String], asNobody: Bool = false) throws -> (status: Int32, out: String, seconds: Double) {
        let start = ContinuousClock.now
        let r = try CleanSpawn.run((asNobody ? RosPackage.asNobody : []) + [robot.node("wait_for_overlay"), "--state", robot.state] + args,
                                  environment: robot.env())
        return (r.status, r.out, RosPackage.seconds(since: start))
    }

    @Test("wait_for_overlay fails after its timeout when the agent runs but no team is joined")
    func waitNotJoined() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("wait-unjoined")
        defer { robot.remove() }
        let agent = try await TestAgent.start(robot)
        defer { agent.stop() }
        // `teamwire status` itself succeeds here (the old wait's test): the agent answers, no team.
        #expect(try CleanSpawn.run([robot.teamwire, "status", "--state", robot.state], environment: robot.env(), check: true).out.contains("not joined to any team"))
        let r = try Self.wait(robot, ["--timeout", "2"])
        #expect(r.status == 1, "\(r.out)")
        #expect(r.seconds >= 2, "it gave up before its timeout: \(r.seconds) s")
        #expect(r.out.contains("the overlay is not up after 2 s: not joined to any team"), "\(r.out)")
        let team = try Self.wait(robot, ["--timeout", "1", "--team", "iris"])
        #expect(team.status == 1 && team.out.contains("not joined to team iris"), "\(team.out)")
    }

    @Test("wait_for_overlay says why it fails: no agent, or a user who may not ask it")
    func waitFailuresSayWhy() async throws {
        try #require(Install.isRoot, "the agent runs as root")
        let robot = try RobotInstall("wait-why")
        defer { robot.remove() }
        let none = try Self.wait(robot, ["--timeout", "1"])
        #expect(none.status == 1 && none.out.contains("no teamwire agent is running"), "\(none.out)")
        let agent = try await TestAgent.start(robot)
        defer { agent.stop() }
        let denied = try Self.wait(robot, ["--timeout", "1"], asNobody: true)
        #expect(denied.status == 1, "\(denied.out)")
        #expect(denied.out.contains("user nobody may not ask the teamwire agent") && denied.out.contains("teamwire group"), "\(denied.out)")
        // As a member of the socket's group it gets the agent's own answer.
        try run(["chgrp", "65534", agent.socket])
        try run(["chmod", "0660", agent.socket])
        let member = try Self.wait(robot, ["--timeout", "1"], asNobody: true)
        #expect(member.status == 1 && member.out.contains("not joined to any team"), "\(member.out)")
        let help = try CleanSpawn.run([robot.node("wait_for_overlay"), "--help"], environment: robot.env())
        #expect(help.status == 0 && help.out.contains("--timeout"), "\(help.out)")
    }
}
