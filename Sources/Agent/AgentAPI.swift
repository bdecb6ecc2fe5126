#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import HummingbirdCore
import NIOPosix
import Logging
import NIOCore
import ServiceLifecycle
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The agent's API on `agent.sock` in its state directory (0600: the file mode is the
/// authentication, as for the coordinator's admin socket). See `AgentMessages.swift`.
public enum AgentAPI {
    static let maxBody = 16 * 1024

    /// HummingbirdCore's HTTP/1 server without Hummingbird's Application: the application
    /// refreshes a cached Date header every second, and a robot's agent must stay asleep while
    /// its tunnels are idle. Three routes need no router.
    public static func service(_ agent: Agent, logger: Logger) throws -> any Service {
        let path = agent.store.socketPath
        try? FileManager.default.removeItem(atPath: path)
        return try HTTPServerBuilder.http1().buildServer(
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "teamwire-agent"),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger,
            responder: { request, writer, _ in
                let response: Response
                switch (request.method, request.uri.path) {
                case (.get, "/v1/status"): response = json(await agent.status())
                case (.post, "/v1/join"): response = await handle(request, JoinRequest.self) { try await agent.join($0) }
                case (.post, "/v1/leave"): response = await handle(request, LeaveRequest.self) { try await agent.leave($0.team) }
                case (_, "/v1/status"), (_, "/v1/join"), (_, "/v1/leave"):
                    response = failure(APIError(.badRequest, "method \(request.method) not allowed on \(request.uri.path)"), status: 405)
                default: response = failure(APIError(.notFound, "no such endpoint \(request.uri.path)"), status: 404)
                }
                try await writer.write(response: response.head, body: response.body)
            },
            onServerRunning: { _ in
                chmod(path, 0o600)
                logger.info("agent socket ready", metadata: ["path": "\(path)"])
            })
    }

    static func handle<B: Decodable, R: Encodable>(_ req: Request, _ type: B.Type, _ body: (B) async throws -> R) async -> Response {
        let buffer: ByteBuffer
        do { buffer = try await req.body.collect(upTo: maxBody) } catch {
            return failure(APIError(.bodyTooLarge, "request body is larger than \(maxBody) bytes"), status: 413)
        }
        let value: B
        do { value = try JSONDecoder().decode(B.self, from: Data(buffer.readableBytesView)) } catch {
            return failure(APIError(.badRequest, "malformed request: \(error)"), status: 400)
        }
        do { return json(try await body(value)) } catch {
            return failure(APIError(.badRequest, "\(error)"), status: 422)
        }
    }

    static func json<T: Encodable>(_ v: T) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ControlCodec.encodeJSON(v))))
    }

    static func failure(_ e: APIError, status: Int) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ControlCodec.encodeJSON(ErrorBody(e)))))
    }
}
