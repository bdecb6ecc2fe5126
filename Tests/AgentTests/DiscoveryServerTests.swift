@testable import Agent
import Foundation
import Logging
import Testing
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The discovery server supervisor with a real child: a shell standing in for
/// fast-discovery-server (the real one runs in the campus test), started with a child of its own
/// so that stopping the group, not just the leader, is what is checked.
@Suite(.serialized) struct DiscoveryServerTests {
    /// Records its arguments, starts a child that outlives it unless its group is killed, waits.
    static let fake = ["sh", "-c", "echo args: \"$@\"; sleep 600 & wait", "fake-discovery-server"]

    func want(_ a: String) -> DiscoveryServer.Want { DiscoveryServer.Want(address: IPv4Address(a)!, profile: "/p/\(a).xml") }

    func until(_ what: String, _ cond: () -> Bool) async throws {
        for _ in 0..<100 {
            if cond() { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("timed out waiting until \(what)")
    }

    func groupGone(_ pgid: pid_t) -> Bool { killpg(pgid, 0) != 0 && errno == ESRCH }

    func withDir(_ body: (String) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tw-ds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(dir)
    }

    @Test func followRestartMoveAndStop() async throws {
        try await withDir { dir in
            let ds = DiscoveryServer(command: Self.fake, directory: dir, logger: Logger(label: "test"))
            defer { ds.stop() }
            #expect(ds.status == nil)
            ds.follow(want("100.64.0.2"))
            try await until("it runs") { ds.status?.state == "running" }
            let first = try #require(ds.status?.pid)
            #expect(ds.status?.locator == "100.64.0.2:11811")
            try await until("it logged its arguments") { (try? String(contentsOfFile: dir + "/discovery-server.log", encoding: .utf8))?.contains("args: -i 0 -l 100.64.0.2 -p 11811 -x /p/100.64.0.2.xml") == true }
            #expect(try String(contentsOfFile: dir + "/discovery-server.pid", encoding: .utf8) == "\(first)\n")
            // The same want again changes nothing.
            ds.follow(want("100.64.0.2"))
            #expect(ds.status?.pid == first)

            // It dies: restarted after a pause, the failure counted; its orphaned child is gone.
            kill(first, SIGKILL)
            try await until("it is restarted") { ds.status?.state == "running" && ds.status?.pid != first }
            #expect(ds.status?.restarts == 1)
            try await until("the dead server's group is gone") { groupGone(first) }

            // Moved (another address): the old group stops, a new one starts.
            let second = try #require(ds.status?.pid)
            ds.follow(want("100.64.0.9"))
            // (The leader is reaped before follow returns; its child, reparented, a moment later.)
            try await until("the old group is gone") { groupGone(second) }
            try await until("it runs on the new address") { ds.status?.state == "running" && ds.status?.locator == "100.64.0.9:11811" }
            let third = try #require(ds.status?.pid)

            // Not wanted any more: the whole group stops, nothing is left.
            ds.follow(nil)
            try await until("the group is gone") { groupGone(third) }
            #expect(ds.status == nil)
            #expect(!FileManager.default.fileExists(atPath: dir + "/discovery-server.pid"))
        }
    }

    @Test func aMissingCommandIsAReportedFailureThatIsRetried() async throws {
        try await withDir { dir in
            let ds = DiscoveryServer(command: ["/nonexistent/fast-discovery-server"], directory: dir, logger: Logger(label: "test"))
            defer { ds.stop() }
            ds.follow(want("100.64.0.2"))
            try await until("the failure is reported") { ds.status?.error?.contains("not found") == true }
            #expect(ds.status?.state == "failed" && ds.status?.pid == nil)
            try await until("it was tried again") { (ds.status?.restarts ?? 0) >= 1 }
        }
    }

    @Test func aServerLeftByACrashedAgentIsStopped() async throws {
        try await withDir { dir in
            // What a crashed agent leaves: the server's group running and its pid file.
            let pid = try DiscoveryServer.spawn(Self.fake + ["-i", "0"], log: dir + "/old.log").get()
            try "\(pid)\n".write(toFile: dir + "/discovery-server.pid", atomically: true, encoding: .utf8)
            #expect(!groupGone(pid))
            let ds = DiscoveryServer(command: Self.fake, directory: dir, logger: Logger(label: "test"))
            defer { ds.stop() }
            var st: Int32 = 0
            waitpid(pid, &st, 0)  // our child here (the test spawned it): reap it
            try await until("the leftover group is gone") { groupGone(pid) }
            #expect(!FileManager.default.fileExists(atPath: dir + "/discovery-server.pid"))
        }
    }

    @Test func theCommandOption() throws {
        guard case .run(let o) = try AgentOptions.parse(["--discovery-server-command", "fastdds discovery"]) else { throw DiscoveryServer.SpawnError(message: "not run") }
        #expect(o.discoveryServerCommand == ["fastdds", "discovery"])
        guard case .run(let d) = try AgentOptions.parse([]) else { throw DiscoveryServer.SpawnError(message: "not run") }
        #expect(d.discoveryServerCommand == ["fast-discovery-server"])
        #expect(throws: AgentOptions.UsageError.self) { try AgentOptions.parse(["--discovery-server-command="]) }
        #expect(AgentOptions.usage.contains("--discovery-server-command"))
    }
}
