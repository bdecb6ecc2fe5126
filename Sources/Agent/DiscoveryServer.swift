#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import RosBridge
import Synchronization
import TeamwireCore
import WireGuardControl
#if canImport(Glibc)
import Glibc
#endif

/// The team's Fast DDS discovery server, run by the agent of the designated member: a child in
/// its own process group (`fast-discovery-server -i 0 -l ADDR -p 11811 -x PROFILE`, the profile
/// binding it to the overlay address), restarted with backoff when it dies, and stopped (the whole
/// group) when the team stops asking for it, on leave and when the agent stops. A pid file lets
/// the next agent stop one that a crashed agent left behind.
final class DiscoveryServer: Sendable {
    /// What should run: a server on this overlay address with this profile.
    struct Want: Equatable, Sendable {
        var address: IPv4Address
        var profile: String
    }

    private struct State {
        var want: Want?
        var supervisor: Task<Void, Never>?
        var pid: pid_t?
        /// Bumped at every change of `want`: a supervisor of an older one starts nothing.
        var generation = 0
        var status: DiscoveryServerStatus?
    }

    /// The command and its leading arguments, e.g. ["fast-discovery-server"] or ["fastdds", "discovery"].
    let command: [String]
    let logPath: String
    let pidPath: String
    let logger: Logger
    private let state = Mutex(State())

    init(command: [String], directory: String, logger: Logger) {
        self.command = command
        logPath = directory + "/discovery-server.log"
        pidPath = directory + "/discovery-server.pid"
        self.logger = logger
        stopLeftover()
    }

    static let defaultCommand = ["fast-discovery-server"]

    func arguments(_ w: Want) -> [String] {
        command + ["-i", "0", "-l", w.address.description, "-p", "\(FastDDSDiscovery.port)", "-x", w.profile]
    }

    /// Runs the server for `want`, or none for nil; a change of address or profile restarts it.
    func follow(_ want: Want?) {
        let (old, generation): (pid_t?, Int?) = state.withLock { s in
            guard s.want != want else { return (nil, nil) }
            s.want = want
            s.generation += 1
            s.supervisor?.cancel()
            s.supervisor = nil
            let old = s.pid
            s.pid = nil
            s.status = want.map { DiscoveryServerStatus(state: "failed", locator: Self.locator($0), error: "starting") }
            return (old, s.generation)
        }
        guard let generation else { return }
        if let old { terminate(old) }
        guard let want else {
            unlink(pidPath)
            return
        }
        let task = Task.detached { [self] in await supervise(want, generation: generation) }
        state.withLock { s in
            if s.generation == generation { s.supervisor = task } else { task.cancel() }
        }
    }

    /// Stops it for good (leave, removal, agent stop).
    func stop() { follow(nil) }

    var status: DiscoveryServerStatus? { state.withLock { $0.status } }

    static func locator(_ w: Want) -> String { "\(w.address):\(FastDDSDiscovery.port)" }

    // MARK: supervision

    private func supervise(_ want: Want, generation: Int) async {
        var delay = 1.0
        var restarts = 0
        while !Task.isCancelled {
            let argv = arguments(want)
            let started: Result<pid_t, SpawnError> = state.withLock { s in
                guard s.generation == generation else { return .failure(SpawnError(message: "superseded")) }
                let r = Self.spawn(argv, log: logPath)
                if case .success(let pid) = r {
                    // Before it shows as running: an agent that dies from here on leaves the file
                    // for the next one to clean up after.
                    try? "\(pid)\n".write(toFile: pidPath, atomically: true, encoding: .utf8)
                    s.pid = pid
                    s.status = DiscoveryServerStatus(state: "running", locator: Self.locator(want), pid: pid, restarts: restarts)
                }
                return r
            }
            var why: String
            switch started {
            case .failure(let e) where e.message == "superseded":
                return
            case .failure(let e):
                why = e.message
                logger.error("cannot start the discovery server", metadata: ["command": "\(argv.joined(separator: " "))", "error": "\(why)"])
            case .success(let pid):
                logger.info("discovery server started", metadata: ["pid": "\(pid)", "locator": "\(Self.locator(want))", "command": "\(argv.joined(separator: " "))"])
                let since = ContinuousClock.now
                guard let status = await waitForExit(pid) else { return }  // stopped on purpose
                killpg(pid, SIGKILL)  // whatever it had started (a wrapper's child) must not hold the port
                if ContinuousClock.now - since > .seconds(60) { delay = 1 }  // it had been running fine
                why = "exited (\(Self.describe(status))): \(Self.logTail(logPath))"
                logger.warning("discovery server exited; restarting", metadata: ["pid": "\(pid)", "status": "\(Self.describe(status))", "log": "\(Self.logTail(logPath))"])
            }
            let reason = why
            let stillWanted = state.withLock { s in
                guard s.generation == generation else { return false }
                s.pid = nil
                s.status = DiscoveryServerStatus(state: "failed", locator: Self.locator(want), restarts: restarts, error: reason)
                return true
            }
            guard stillWanted else { return }
            await quietSleep(seconds: delay)
            delay = min(delay * 2, 30)
            restarts += 1
        }
    }

    /// Polls the child until it exits (its wait status) or this generation is stopped (nil; the
    /// stopper reaps it).
    private func waitForExit(_ pid: pid_t) async -> Int32? {
        while true {
            let mine = state.withLock { $0.pid == pid }
            if !mine || Task.isCancelled { return nil }
            var st: Int32 = 0
            let r = state.withLock { s -> pid_t in
                guard s.pid == pid else { return -1 }
                return waitpid(pid, &st, WNOHANG)
            }
            if r == pid { return st }
            if r < 0 { return nil }
            await quietSleep(seconds: 0.2)
        }
    }

    /// SIGTERM to the group, SIGKILL after 3 s; reaps the child.
    private func terminate(_ pid: pid_t) {
        killpg(pid, SIGTERM)
        var st: Int32 = 0
        for _ in 0..<300 {
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid || r < 0 {
                killpg(pid, SIGKILL)  // anything the command left in its group
                logger.notice("discovery server stopped", metadata: ["pid": "\(pid)"])
                return
            }
            usleep(10_000)
        }
        killpg(pid, SIGKILL)
        waitpid(pid, &st, 0)
        logger.warning("discovery server did not stop on SIGTERM; killed", metadata: ["pid": "\(pid)"])
    }

    /// A server a crashed agent left running (its pid file is here): stop its group.
    private func stopLeftover() {
        guard let text = try? String(contentsOfFile: pidPath, encoding: .utf8),
              let word = text.split(whereSeparator: \.isWhitespace).first, let pid = pid_t(word), pid > 1 else { return }
        unlink(pidPath)
        // Only if that pid still leads a group running the server (not a recycled pid).
        guard getpgid(pid) == pid, let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
              cmd.contains(command.first.map { String($0.split(separator: "/").last ?? "") } ?? "discovery") else { return }
        logger.notice("stopping a discovery server left by an earlier agent", metadata: ["pid": "\(pid)"])
        killpg(pid, SIGTERM)
        for _ in 0..<300 where kill(pid, 0) == 0 { usleep(10_000) }
        killpg(pid, SIGKILL)
    }

    // MARK: process

    struct SpawnError: Error { var message: String }

    static func spawn(_ argv: [String], log: String) -> Result<pid_t, SpawnError> {
        ChildSpawn.start(argv, log: log).mapError { f in
            SpawnError(message: f.errno == ENOENT ? "\(argv[0]) not found (install Fast DDS's tools, or give --discovery-server-command)"
                                                  : "cannot run \(argv[0]): \(String(cString: strerror(f.errno)))")
        }
    }

    static func describe(_ status: Int32) -> String {
        let sig = status & 0x7f
        return sig == 0 ? "status \((status >> 8) & 0xff)" : "signal \(sig)"
    }

    /// The last lines the server wrote, on one line.
    static func logTail(_ path: String, _ maxBytes: Int = 300) -> String {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return "(no output)" }
        let text = String(decoding: data.suffix(4096), as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " | ")
        return String(text.suffix(maxBytes))
    }
}
