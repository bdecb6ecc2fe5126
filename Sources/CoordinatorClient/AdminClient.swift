#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import NIOCore
import NIOHTTP1
import TeamwireCore

/// The admin CLI's client: JSON over the coordinator's Unix socket.
public struct AdminClient: Sendable {
    public let socketPath: String
    public let actor: String

    public init(socketPath: String, actor: String = ProcessInfo.processInfo.environment["SUDO_USER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "root") {
        self.socketPath = socketPath
        self.actor = actor
    }

    public func info() async throws(ClientError) -> CoordinatorInfo { try await send(.GET, "/v1/info") }
    public func stats() async throws(ClientError) -> CoordinatorStats { try await send(.GET, "/v1/stats") }
    public func createTeam(_ r: CreateTeamRequest) async throws(ClientError) -> TeamInfo { try await send(.POST, "/v1/teams", body: r) }
    public func listTeams() async throws(ClientError) -> [TeamInfo] { try await send(.GET, "/v1/teams") }
    public func createToken(team: String, _ r: CreateTokenRequest) async throws(ClientError) -> CreatedToken {
        try await send(.POST, "/v1/teams/\(escape(team))/tokens", body: r)
    }
    public func listTokens(team: String) async throws(ClientError) -> [TokenInfo] { try await send(.GET, "/v1/teams/\(escape(team))/tokens") }
    public func revokeToken(id: String) async throws(ClientError) -> TokenInfo { try await send(.DELETE, "/v1/tokens/\(escape(id))") }
    public func listNodes(team: String?) async throws(ClientError) -> [NodeInfo] {
        try await send(.GET, "/v1/nodes" + (team.map { "?team=\(escape($0))" } ?? ""))
    }
    public func removeNode(team: String, name: String) async throws(ClientError) -> NodeInfo {
        try await send(.DELETE, "/v1/teams/\(escape(team))/nodes/\(escape(name))")
    }
    public func setRosMaster(team: String, name: String) async throws(ClientError) -> TeamInfo {
        try await send(.PUT, "/v1/teams/\(escape(team))/ros-master", body: SetRosMasterRequest(name: name))
    }
    public func setTeamSettings(team: String, _ r: SetTeamSettingsRequest) async throws(ClientError) -> TeamInfo {
        try await send(.PUT, "/v1/teams/\(escape(team))/settings", body: r)
    }
    public func audit(team: String?, limit: Int = 1000) async throws(ClientError) -> [AuditEvent] {
        try await send(.GET, "/v1/audit?limit=\(limit)" + (team.map { "&team=\(escape($0))" } ?? ""))
    }

    /// Percent-encodes every UTF-8 byte but ASCII letters, digits and "-._" (what
    /// addingPercentEncoding with .alphanumerics plus "-._" gave; it is not in FoundationEssentials).
    func escape(_ s: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    func send<R: Decodable>(_ method: HTTPMethod, _ path: String) async throws(ClientError) -> R {
        try await send(method, path, body: Optional<Empty>.none)
    }

    func send<B: Encodable, R: Decodable>(_ method: HTTPMethod, _ path: String, body: B?) async throws(ClientError) -> R {
        guard FileManager.default.fileExists(atPath: socketPath) else {
            throw .noCoordinator(socket: socketPath, reason: "the socket does not exist")
        }
        var headers = [("X-Teamwire-Actor", actor)]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let status: Int, bytes: [UInt8]
        do {
            let r = try await HTTPExchange.send(method, .unix(path: socketPath), path: path, headers: headers, body: body.map { ControlCodec.encodeJSON($0) },
                                                timeout: .seconds(30), maxBody: 256 * 1024 * 1024)
            status = r.status
            bytes = r.body
        } catch let f as HTTPExchange.Failure where f.sent {
            throw .noReply("the coordinator on \(socketPath) \(f)")
        } catch {
            throw .noCoordinator(socket: socketPath, reason: "\(error)")
        }
        if (200..<300).contains(status) {
            do { return try JSONDecoder().decode(R.self, from: Data(bytes)) } catch {
                throw .badReply("the answer to \(path) is not what teamwire \(TeamwireVersion.string) expects (the coordinator may run another version)")
            }
        }
        if let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes)) { throw .refused(e.error) }
        throw .badReply("HTTP \(status): \(String(decoding: bytes.prefix(200), as: UTF8.self))")
    }
}
