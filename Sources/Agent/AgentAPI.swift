#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The agent's API on `agent.sock` in its state directory (0600: the file mode is the
/// authentication, as for the coordinator's admin socket). See `AgentMessages.swift`.
///
/// A bare NIO HTTP/1.1 server, one request per connection (the CLI sends `Connection: close`):
/// three routes need no framework, and a robot's agent should map as little code as it can.
/// Nothing in it runs on a timer, so it costs no wake-ups while idle.
public enum AgentAPI {
    static let maxBody = 16 * 1024

    /// Binds the socket and serves until the task is cancelled; `listening` runs once it accepts.
    public static func serve(_ agent: Agent, logger: Logger, listening: @Sendable () -> Void = {}) async throws {
        let path = agent.store.socketPath
        unlink(path)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        chmod(path, 0o600)
        logger.info("agent socket ready", metadata: ["path": "\(path)"])
        listening()
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    group.addTask { await exchange(connection, agent) }
                }
            }
        }
    }

    /// Reads one request, answers it, closes the connection.
    static func exchange(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, _ agent: Agent) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var tooLarge = false
            for try await part in inbound {
                switch part {
                case .head(let h): head = h
                case .body(let chunk):
                    // Read to the end (the client is still sending) but keep nothing past the cap.
                    if tooLarge || body.count + chunk.readableBytes > maxBody { tooLarge = true; body = [] } else { body += chunk.readableBytesView }
                case .end:
                    guard let head else { return }
                    let (status, reply) = await respond(head, body: tooLarge ? nil : body, agent)
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: "\(reply.count)")
                    headers.add(name: "Connection", value: "close")
                    try await outbound.write(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: reply))))
                    try await outbound.write(.end(nil))
                    return
                }
            }
        }
    }

    /// The status and JSON body answering one request (`body` nil: it was over the cap).
    static func respond(_ head: HTTPRequestHead, body: [UInt8]?, _ agent: Agent) async -> (Int, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, "/v1/status"): return (200, ControlCodec.encodeJSON(await agent.status()))
        case (.POST, "/v1/join"): return await handle(body, JoinRequest.self) { try await agent.join($0) }
        case (.POST, "/v1/leave"): return await handle(body, LeaveRequest.self) { try await agent.leave($0.team) }
        case (_, "/v1/status"), (_, "/v1/join"), (_, "/v1/leave"):
            return failure(APIError(.badRequest, "method \(head.method) not allowed on \(path)"), status: 405)
        default: return failure(APIError(.notFound, "no such endpoint \(path)"), status: 404)
        }
    }

    static func handle<B: Codable, R: Encodable>(_ body: [UInt8]?, _ type: B.Type, _ run: (B) async throws -> R) async -> (Int, [UInt8]) {
        guard let body else { return failure(APIError(.bodyTooLarge, "request body is larger than \(maxBody) bytes"), status: 413) }
        let value: B
        do { value = try AgentRequestBody.decode(B.self, from: body) } catch {
            return failure(error, status: 400)
        }
        do { return (200, ControlCodec.encodeJSON(try await run(value))) } catch {
            return failure(APIError(.badRequest, "\(error)"), status: 422)
        }
    }

    static func failure(_ e: APIError, status: Int) -> (Int, [UInt8]) { (status, ControlCodec.encodeJSON(ErrorBody(e))) }
}
