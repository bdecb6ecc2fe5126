import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The agent as a systemd `Type=notify` unit: what it sends to $NOTIFY_SOCKET, and when. The
/// socket stands in for systemd's own (systemd is not PID 1 here); the agent is the real one.
extension CampusTests {
    /// READY=1 comes once the interface is up and the ROS files follow the current team map; with
    /// the coordinator down or silent, once the cache is applied, without waiting for it long.
    @Test func agentTellsSystemdWhenReady() async throws {
        try await Campus.with("n") { c in
            // /tmp is shared with the lab hosts (only /tmp/teamwire-lab is private to each).
            let notify = try NotifySocket(path: "/tmp/teamwire-notify-\(UUID().uuidString.prefix(8)).sock")
            func startAgent() throws {
                try c.spawn("robot1", "agent", ["env", "NOTIFY_SOCKET=\(notify.path)", Campus.binary, "agent", "--backend", "userspace", "--log-level", "debug"])
            }
            func stopAgent() throws {
                try c.stop("robot1", "agent")
                let m = try notify.receive("STOPPING", timeout: 10)
                #expect(m["STOPPING"] == "1", "\(m)")
            }
            /// What the agent must make again before it may say it is ready.
            func removeOverlay() throws {
                try c.exec("robot1", ["ip", "link", "del", "tw-iris"])
                try c.exec("robot1", ["rm", "-r", "/var/lib/teamwire/ros/iris"])
            }
            /// At READY (checked the moment it arrives): the interface is up, ros.env is there.
            func expectOverlayUp() throws {
                let link = try c.exec("robot1", ["ip", "-o", "link", "show", "tw-iris"], check: false).out
                #expect(link.contains(",UP"), "tw-iris at READY: \(link)")
                #expect(try c.exec("robot1", ["test", "-s", "/var/lib/teamwire/ros/iris/ros.env"], check: false).status == 0, "no ros.env at READY")
            }
            func hostsNames(_ name: String) throws -> Bool {
                try c.exec("robot1", ["cat", "/var/lib/teamwire/ros/iris/hosts"], check: false).out.contains("\t\(name) ")
            }

            // No team joined: ready as soon as the socket listens.
            try startAgent()
            var m = try notify.receive("READY", timeout: 20)
            #expect(m["READY"] == "1" && m["STATUS"] == "no team joined", "\(m)")
            #expect(try c.tw("robot1", ["status"], check: false).status == 0, "the agent socket does not answer at READY")

            let token = try c.token(uses: 2)
            try c.tw("robot1", ["join", token, "--name", "robot1", "--wait", "15"])
            // `systemctl status` follows the join.
            m = try notify.receive("STATUS", timeout: 10)
            #expect(m["STATUS"] == "1 team up", "\(m)")
            try stopAgent()
            // robot2 joins while robot1's agent is down: robot1's cached map does not know it.
            try await c.startAgent("robot2")
            try c.tw("robot2", ["join", token, "--name", "robot2", "--wait", "15"])
            try removeOverlay()

            // Coordinator up: ready on the current map (robot2 in the hosts file), not the cache.
            try startAgent()
            m = try notify.receive("READY", timeout: 20)
            #expect(m["READY"] == "1" && m["STATUS"] == "1 team up", "\(m)")
            try expectOverlayUp()
            #expect(try hostsNames("robot2"), "the ROS files at READY come from the cached map, not the coordinator's")
            try stopAgent()

            // Nothing changed meanwhile: the coordinator's "no news" answer is enough, at once
            // (the agent's first look does not park like its long poll).
            var start = Date()
            try startAgent()
            m = try notify.receive("READY", timeout: 20)
            var took = Date().timeIntervalSince(start)
            #expect(m["READY"] == "1" && m["STATUS"] == "1 team up", "\(m)")
            #expect(took < 4, "READY took \(took) s with an unchanged map")
            try stopAgent()

            // Coordinator down (connections refused): ready on the cache at once.
            try c.stop("coord", "coordinator")
            try removeOverlay()
            start = Date()
            try startAgent()
            m = try notify.receive("READY", timeout: 20)
            took = Date().timeIntervalSince(start)
            #expect(m["READY"] == "1" && m["STATUS"] == "1 team up; coordinator unreachable, running on cache", "\(m)")
            try expectOverlayUp()
            #expect(try hostsNames("robot2"))
            #expect(took < 4, "READY took \(took) s with the coordinator refusing connections")
            try stopAgent()

            // Coordinator silent (stopped, its connections accepted by the kernel, never
            // answered): ready on the cache after the agent's bound of 5 s, not the poll's 15 s.
            try await c.startCoordinator()
            let coordinator = try String(contentsOfFile: "/run/\(c.lab)/pids/coord-coordinator.pid", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            try run(["kill", "-STOP", coordinator])
            defer { _ = try? run(["kill", "-CONT", coordinator]) }
            try removeOverlay()
            start = Date()
            try startAgent()
            m = try notify.receive("READY", timeout: 30)
            took = Date().timeIntervalSince(start)
            #expect(m["READY"] == "1" && m["STATUS"] == "1 team up; coordinator unreachable, running on cache", "\(m)")
            try expectOverlayUp()
            #expect(took >= 5 && took < 10, "READY took \(took) s with a silent coordinator")
            try stopAgent()
        }
    }

    /// An abstract NOTIFY_SOCKET (`@name`, as systemd in a container may pass) works too. No lab:
    /// an agent without teams touches no network (abstract names belong to a network namespace,
    /// so the agent must share the test's).
    @Test func agentNotifiesAnAbstractSocket() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("tw-notify-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let notify = try NotifySocket(path: "@teamwire-notify-\(UUID().uuidString.prefix(8))")
        let agent = try ChildProcess.start(["NOTIFY_SOCKET=\(notify.path)", Campus.binary, "agent", "--state", state, "--no-mdns"],
                                           environment: ProcessInfo.processInfo.environment)
        var exit: (status: Int32, out: String)?
        defer { if exit == nil { kill(agent.pid, SIGKILL); _ = agent.wait() } }
        let ready = try notify.receive("READY", timeout: 20)
        #expect(ready["READY"] == "1" && ready["STATUS"] == "no team joined", "\(ready)")
        kill(agent.pid, SIGTERM)
        let stopping = try notify.receive("STOPPING", timeout: 10)
        #expect(stopping["STOPPING"] == "1", "\(stopping)")
        exit = agent.wait()
        #expect(exit?.status == 0, "\(exit?.out ?? "")")
    }
}

/// systemd's end of sd_notify: an AF_UNIX datagram socket bound to a path or, for `@name`, to
/// an abstract name. Removed (and closed) when the test is done with it.
final class NotifySocket {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw LabError("socket: \(String(cString: strerror(errno)))") }
        var addr = RawSocket.unixAddress(path)
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        if path.hasPrefix("@") {
            // Abstract: a NUL instead of the @, and the length says where the name ends.
            withUnsafeMutableBytes(of: &addr.sun_path) { $0[0] = 0 }
            length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + path.utf8.count)
        }
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw LabError("bind \(path): \(why)")
        }
    }

    deinit {
        close(fd)
        if !path.hasPrefix("@") { unlink(path) }
    }

    /// The fields (`READY` → `1`, ...) of the next message that has `field`, skipping others
    /// (STATUS= updates); throws when none comes within `timeout` s.
    func receive(_ field: String, timeout: Double) throws -> [String: String] {
        let end = Date().addingTimeInterval(timeout)
        while true {
            let m = try receive(timeout: max(end.timeIntervalSinceNow, 0))
            if m[field] != nil { return m }
        }
    }

    /// The next message's fields; throws when none comes within `timeout` s.
    func receive(timeout: Double) throws -> [String: String] {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { throw LabError("no message on the notify socket within \(timeout) s") }
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { throw LabError("recv: \(String(cString: strerror(errno)))") }
        var fields: [String: String] = [:]
        for line in String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return fields
    }
}
