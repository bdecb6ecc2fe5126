import Foundation
import Testing
import TestSupport
import TeamwireCore

/// A stand-in for the agent's socket or the coordinator's admin socket: an HTTP/1.1 server on a
/// Unix socket that answers each request with the JSON canned for its path (without the query).
/// Feeds the real CLI replies no real agent or coordinator would send.
final class CannedSocketServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let replies: [String: String]
    private let done = DispatchSemaphore(value: 0)

    init(path: String, replies: [String: String]) throws {
        self.path = path
        self.replies = replies
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = RawSocket.unixAddress(path)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard fd >= 0, bound == 0, listen(fd, 8) == 0 else { throw CocoaError(.fileWriteUnknown) }
        let t = Thread { [self] in serve() }
        t.start()
    }

    private func serve() {
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { break }
            var request: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while !request.ends(with: Array("\r\n\r\n".utf8)) {
                let n = read(c, &buf, buf.count)
                guard n > 0 else { break }
                request += buf[0..<n]
            }
            let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
            let target = line.count > 1 ? String(line[1].split(separator: "?", maxSplits: 1)[0]) : ""
            let (status, body) = replies[target].map { ("200 OK", $0) } ?? ("404 Not Found", #"{"error":{"code":"not_found","message":"no \#(target)"}}"#)
            let reply = Array("HTTP/1.1 \(status)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)".utf8)
            _ = reply.withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            close(c)
        }
        done.signal()
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        done.wait()
        close(fd)
        unlink(path)
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}

extension IntegrationTests {
    /// The CLI prints what the agent and the coordinator report: times, counters, ports and
    /// revisions it did not make. Every extreme is printed (or shown as JSON), never trapped on:
    /// `now - ms` for a handshake at Int64.min crashed `teamwire status` and `node list`.
    @Suite("Hostile replies to the CLI")
    struct HostileRepliesCLITests {
        static let times: [Int64?] = [Int64.min, Int64.min + 1, -1, 0, 1, Int64.max, nil]

        static func json<T: Encodable>(_ v: T) -> String { String(decoding: ControlCodec.encodeJSON(v), as: UTF8.self) }

        @Test func statusPrintsEveryExtremeTheAgentReports() async throws {
            let dir = makeTempDir()
            let teams = Self.times.enumerated().map { i, t in
                TeamStatus(team: "team\(i)", name: "robot1", address: IPv4Address(UInt32.max), prefix: IPv4Prefix("0.0.0.0/0")!, interface: "tw-team\(i)",
                           backend: "kernel", listenPort: UInt16.max, mode: .auto, revision: UInt64.max, coordinatorContact: t,
                           coordinatorError: i % 2 == 0 ? "refused" : nil,
                           hub: PeerStatus(endpoint: Endpoint("[ffff::1]:65535"), latestHandshake: t, rxBytes: UInt64.max, txBytes: 0),
                           members: [MemberStatus(name: "robot2", address: IPv4Address(0), role: .laptop, path: .direct, reachable: false,
                                                  peer: PeerStatus(endpoint: nil, latestHandshake: t, rxBytes: 1023, txBytes: UInt64.max - 1))])
            }
            let server = try CannedSocketServer(path: dir + "/agent.sock", replies: ["/v1/status": Self.json(AgentStatus(version: "9", teams: teams))])
            defer { server.stop() }

            let r = try await runCLI(["status", "--state", dir])
            #expect(r.status == 0, "teamwire status: exit \(r.status), \(r.err)")
            #expect(r.out.components(separatedBy: "revision \(UInt64.max)").count == Self.times.count + 1, "\(r.out)")
            #expect(r.out.contains("\(Int64.max / 1000)s ago") && r.out.contains("never") && r.out.contains("port 65535"), "\(r.out)")
            let j = try await runCLI(["status", "--json", "--state", dir])
            #expect(j.status == 0 && (try? JSONDecoder().decode(AgentStatus.self, from: Data(j.out.utf8)))?.teams == teams, "\(j.err)")
        }

        @Test func adminListingsPrintEveryExtremeTheCoordinatorReports() async throws {
            let dir = makeTempDir()
            let key = PrivateKey.generate().publicKey
            let nodes = Self.times.map { t in
                NodeInfo(team: "iris", name: "robot1", publicKey: key, address: IPv4Address(UInt32.max), role: .robot, endpoints: [Endpoint("192.0.2.1:65535")!],
                         enrolledAt: t ?? Int64.min, lastSeen: t, rosMaster: true)
            }
            let tokens = Self.times.map { t in
                TokenInfo(id: TokenID.random(), team: "iris", role: .laptop, maxUses: Int.max, uses: Int.min, expiresAt: t ?? Int64.max, revokedAt: t,
                          createdAt: t ?? 0, state: "active")
            }
            let events = Self.times.map { t in AuditEvent(id: Int64.min, time: t ?? Int64.max, actor: "admin:x", action: "team.create", outcome: "ok") }
            let teams = [TeamInfo(name: "iris", prefix: IPv4Prefix("0.0.0.0/0")!, mode: .relay, rosDomainID: Int.min, hubAddress: IPv4Address(0),
                                  members: Int.max, revision: UInt64.max, createdAt: Int64.min)]
            let server = try CannedSocketServer(path: dir + "/admin.sock", replies: [
                "/v1/nodes": Self.json(nodes), "/v1/teams/iris/tokens": Self.json(tokens), "/v1/audit": Self.json(events), "/v1/teams": Self.json(teams),
            ])
            defer { server.stop() }
            let s = ["--state", dir]

            var r = try await runCLI(["node", "list"] + s)
            #expect(r.status == 0 && r.out.contains("\(Int64.max / 1000)s ago") && r.out.contains("never"), "node list: exit \(r.status), \(r.out) \(r.err)")
            r = try await runCLI(["token", "list", "iris"] + s)
            #expect(r.status == 0 && r.out.contains("\(Int.min)/\(Int.max)"), "token list: exit \(r.status), \(r.out) \(r.err)")
            r = try await runCLI(["audit"] + s)
            #expect(r.status == 0 && r.out.components(separatedBy: "team.create").count == Self.times.count + 1, "audit: exit \(r.status), \(r.out) \(r.err)")
            r = try await runCLI(["team", "list"] + s)
            #expect(r.status == 0 && r.out.contains("\(UInt64.max)") && r.out.contains("\(Int.min)"), "team list: exit \(r.status), \(r.out) \(r.err)")
        }
    }
}
