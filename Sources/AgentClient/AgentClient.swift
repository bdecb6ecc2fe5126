import CoordinatorClient
import DaemonFiles
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// `join`, `status` and `leave` talk to the running agent through its socket.
public struct AgentClient: Sendable {
    public let directory: AgentStateDirectory

    public init(stateDirectory: String) {
        directory = AgentStateDirectory(root: stateDirectory)
    }

    public func status() async throws -> AgentStatus { try await send(.GET, "/v1/status", body: Optional<Empty>.none, timeout: .seconds(10)) }
    public func join(_ r: JoinRequest) async throws -> TeamStatus { try await send(.POST, "/v1/join", body: r, timeout: .seconds(60)) }
    public func leave(_ team: String) async throws -> LeaveReply { try await send(.POST, "/v1/leave", body: LeaveRequest(team: team), timeout: .seconds(30)) }
    public func ping(_ r: PingRequest) async throws -> PingReply {
        try await send(.POST, "/v1/ping", body: r, timeout: .milliseconds(Int64(min(max(r.timeoutMillis, 0), 60_000)) + 10_000))
    }

    var noAgent: String {
        "no teamwire agent is running with state directory \(directory.root); start one with `sudo teamwire agent` (or `systemctl start teamwire-agent`), or pass --state DIR"
    }

    func send<B: Encodable, R: Decodable>(_ method: HTTPMethod, _ path: String, body: B?, timeout: TimeAmount) async throws -> R {
        let socket = directory.socketPath
        if let denied = SocketAccess.denial(socket, daemon: "the agent", defaultGroup: AgentStateDirectory.defaultSocketGroup) { throw AgentError(denied) }
        var st = stat()
        guard stat(socket, &st) == 0 else { throw AgentError(noAgent) }
        let status: Int, bytes: [UInt8]
        do {
            let r = try await HTTPExchange.send(method, .unix(path: socket), path: path, headers: body == nil ? [] : [("Content-Type", "application/json")],
                                                body: body.map { ControlCodec.encodeJSON($0) }, timeout: timeout, maxBody: 64 * 1024 * 1024)
            status = r.status
            bytes = r.body
        } catch {
            throw AgentError(noAgent + " (\(error))")
        }
        if (200..<300).contains(status) {
            do { return try JSONDecoder().decode(R.self, from: Data(bytes)) } catch {
                throw AgentError("the agent's answer to \(path) is not what teamwire \(TeamwireVersion.string) expects (the agent may run another version)")
            }
        }
        if let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes)) { throw AgentError(e.error.message, code: e.error.code) }
        throw AgentError("agent answered HTTP \(status)")
    }
}
