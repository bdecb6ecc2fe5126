import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The ROS package (launch/teamwire_ros) and what its tests run it with.
enum RosPackage {
    static let source = Install.repo + "/launch/teamwire_ros"
    static func node(_ name: String) -> String { source + "/nodes/" + name }

    /// colcon and the ament_cmake wheels, from scripts/setup-debian (ROS 2 is not packaged for Debian 12).
    static let colconVenv = "/opt/teamwire-colcon"

    /// Runs the rest as user nobody (the ROS unit's User=, not in the agent socket's group).
    static let asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// A fresh directory under /tmp that user nobody can enter and write (a ROS home, a workspace).
    static func scratch(_ tag: String) throws -> String {
        let dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("tw-ros-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o777)
        return dir
    }

    /// A workspace with the package copied into DIR/src/teamwire_ros.
    static func workspace(_ tag: String) throws -> String {
        let ws = try scratch(tag)
        try FileManager.default.createDirectory(atPath: ws + "/src", withIntermediateDirectories: true)
        try run(["cp", "-a", source, ws + "/src/teamwire_ros"])
        return ws
    }

    /// Lines of `text` that contain `needle`.
    static func count(_ needle: String, in text: String) -> Int {
        text.split(separator: "\n").filter { $0.contains(needle) }.count
    }

    /// Seconds since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

/// A robot's install in a scratch directory, laid out as the .deb installs it: the binaries in
/// DIR/bin, the ROS package in DIR/ros/teamwire_ros (ROS_PACKAGE_PATH=DIR/ros:/usr/share), all
/// readable by user nobody wherever the repository is checked out. The agent's state is DIR/state.
struct RobotInstall {
    let dir: String

    init(_ tag: String) throws {
        dir = try RosPackage.scratch(tag)
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/ros", withIntermediateDirectories: true)
        // Modes given, not left to the umask: under a umask of 077 (a root shell's, or a test's)
        // a plain cp makes binaries nobody may run.
        for binary in Install.shipped { try run(["install", "-m", "0755", Install.products + "/" + binary, dir + "/bin/"]) }
        try run(["cp", "-a", RosPackage.source, dir + "/ros/teamwire_ros"])
        chmod(dir + "/bin", 0o755)
        chmod(dir + "/ros", 0o755)
    }

    var state: String { dir + "/state" }
    var teamwire: String { dir + "/bin/teamwire" }
    func node(_ name: String) -> String { dir + "/ros/teamwire_ros/nodes/" + name }

    /// A robot's environment: this install's bin first, then Debian's python3 and ROS 1 (not a
    /// developer's pyenv, which user nobody cannot read), ROS's logs in DIR/home.
    func env(_ extra: [String: String] = [:]) -> [String: String] {
        ["PATH": dir + "/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": dir + "/home", "ROS_HOME": dir + "/home",
         "ROS_PACKAGE_PATH": dir + "/ros:/usr/share", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"]
            .merging(extra) { _, new in new }
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }
}

/// Runs programs with exactly the environment given (a robot's, not the test's).
enum CleanSpawn {
    /// Runs `args` to completion with exactly `environment`; with `check`, a failure throws with the output.
    @discardableResult
    static func run(_ args: [String], environment: [String: String], check: Bool = false) throws -> (status: Int32, out: String) {
        let r = try ChildProcess.start(args, environment: environment).wait()
        if check, r.status != 0 { throw LabError("\(args.joined(separator: " ")) failed (\(r.status)): \(r.out)") }
        return r
    }
}

/// A long-running program in its own session (so `stop` ends it with every child), its output
/// in a file the test reads while it runs.
final class Background: @unchecked Sendable {
    let pid: pid_t
    let logPath: String

    init(_ args: [String], environment: [String: String]) throws {
        logPath = "/tmp/tw-ros-bg-\(UUID().uuidString).log"
        // setsid(1) does not fork here (the spawned child leads no group), so the pid is the program's.
        pid = try ChildProcess.spawn(["setsid"] + args, environment: environment, outPath: logPath)
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The process's state letter from /proc (R, S, Z...), nil once reaped.
    private var state: Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(close, offsetBy: 2)]
    }

    /// Still running (not exited, even if not yet reaped).
    var running: Bool { state.map { $0 != "Z" && $0 != "X" } ?? false }

    /// The running program's command line, as /proc shows it (after any exec).
    var commandLine: [String] {
        let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
        return raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Ends the program and its children (TERM, then KILL after 5 s); returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        kill(-pid, SIGTERM)
        for _ in 0..<50 where running { usleep(100_000) }
        if running { kill(-pid, SIGKILL) }
        let status = ChildProcess.wait(pid)
        kill(-pid, SIGKILL)  // anything left in the session
        unlink(logPath)
        return status
    }

    /// Polls until `cond` or `timeout` seconds; false on timeout.
    func until(timeout: Double, _ cond: () -> Bool) async throws -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while Date() < end {
            if cond() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return cond()
    }
}

/// The real agent (`teamwire agent`, as root, no mDNS) on its own state directory: with no team
/// joined it makes no interface.
final class TestAgent: @unchecked Sendable {
    let state: String
    let process: Background

    static func start(_ robot: RobotInstall) async throws -> TestAgent {
        let state = robot.state
        let p = try Background([robot.teamwire, "agent", "--state", state, "--no-mdns"], environment: robot.env())
        let agent = TestAgent(state: state, process: p)
        let up = try await p.until(timeout: 20) {
            (try? CleanSpawn.run([robot.teamwire, "status", "--state", state], environment: robot.env()).status) == 0
        }
        guard up else {
            let out = p.output
            p.stop()
            throw LabError("the agent did not answer within 20 s: \(out)")
        }
        return agent
    }

    private init(state: String, process: Background) {
        self.state = state
        self.process = process
    }

    var socket: String { state + "/agent.sock" }

    func stop() { process.stop() }

    /// Every teamwire-agent process on this state directory (ours and any a node started).
    static func processes(state: String) -> [pid_t] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.compactMap { Int32($0) }.filter { pid in
            guard let raw = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")) else { return false }
            let args = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return (args.first?.hasSuffix("teamwire-agent") ?? false) && args.contains(state)
        }
    }
}
