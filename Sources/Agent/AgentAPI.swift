import Foundation
import Hummingbird
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

    public static func service(_ agent: Agent, logger: Logger) -> some Service {
        let path = agent.store.socketPath
        try? FileManager.default.removeItem(atPath: path)
        let router = Router(context: BasicRequestContext.self)
        router.get("/v1/status") { _, _ in json(await agent.status()) }
        router.post("/v1/join") { req, _ in
            await handle(req, JoinRequest.self) { try await agent.join($0) }
        }
        router.post("/v1/leave") { req, _ in
            await handle(req, LeaveRequest.self) { try await agent.leave($0.team) }
        }
        return Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: path), serverName: "teamwire-agent"),
            onServerRunning: { _ in
                chmod(path, 0o600)
                logger.info("agent socket ready", metadata: ["path": "\(path)"])
            },
            logger: logger)
    }

    static func handle<B: Decodable, R: Encodable>(_ req: Request, _ type: B.Type, _ body: (B) async throws -> R) async -> Response {
        let buffer: ByteBuffer
        do { buffer = try await req.body.collect(upTo: maxBody) } catch {
            return failure(APIError(.bodyTooLarge, "request body is larger than \(maxBody) bytes"), status: .contentTooLarge)
        }
        let value: B
        do { value = try JSONDecoder().decode(B.self, from: Data(buffer: buffer)) } catch {
            return failure(APIError(.badRequest, "malformed request: \(error)"), status: .badRequest)
        }
        do { return json(try await body(value)) } catch {
            return failure(APIError(.badRequest, "\(error)"), status: .unprocessableContent)
        }
    }

    static func json<T: Encodable>(_ v: T) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ControlCodec.encodeJSON(v))))
    }

    static func failure(_ e: APIError, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ControlCodec.encodeJSON(ErrorBody(e)))))
    }
}
