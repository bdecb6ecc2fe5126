import Foundation
import Hummingbird
import NIOCore
import TeamwireCore

/// Request context that remembers the peer address: the coordinator records the outside address
/// each node's reports come from.
public struct CoordinatorRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    public var maxUploadSize: Int { Envelope.maxSize }
}

/// The public control API, plain HTTP: every body is a sealed envelope, so the transport needs
/// no TLS and no certificates.
///   GET  /v1/info     the coordinator's public key (plain JSON, for health checks)
///   POST /v1/enroll | /v1/map | /v1/report | /v1/leave   sealed requests
enum PublicAPI {
    static func router(_ registry: Registry) -> Router<CoordinatorRequestContext> {
        let router = Router(context: CoordinatorRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.get("/v1/info") { _, _ in
            jsonResponse(CoordinatorInfo(publicKey: registry.identity.publicKey, endpoints: registry.tokenEndpoints, version: TeamwireVersion.string))
        }
        router.post(RouterPath(Operation.enroll.path)) { req, ctx in
            await sealed(req, ctx, .enroll, registry) { opened, ip in
                await registry.enroll(opened, remoteIP: ip).map { ControlCodec.encodeJSON($0) }
            }
        }
        router.post(RouterPath(Operation.map.path)) { req, ctx in
            await sealed(req, ctx, .map, registry) { opened, _ in
                switch opened.decodedBody(MapRequest.self) {
                case .failure(let e): return .failure(e)
                case .success(let body): return await registry.mapUpdate(for: opened.sender, body)
                }
            }
        }
        router.post(RouterPath(Operation.report.path)) { req, ctx in
            await sealed(req, ctx, .report, registry) { opened, ip in
                switch opened.decodedBody(ReportRequest.self) {
                case .failure(let e): return .failure(e)
                case .success(let body): return await registry.report(from: opened.sender, body, remoteIP: ip).map { ControlCodec.encodeJSON($0) }
                }
            }
        }
        router.post(RouterPath(Operation.leave.path)) { req, ctx in
            await sealed(req, ctx, .leave, registry) { opened, _ in
                if case .failure(let e) = opened.decodedBody(Empty.self) { return .failure(e) }
                return await registry.leave(opened.sender).map { ControlCodec.encodeJSON($0) }
            }
        }
        return router
    }

    /// Reads, opens and answers one sealed request. Failures before the box is opened get a
    /// plain JSON error; everything after is sealed to the sender.
    static func sealed(
        _ req: Request, _ ctx: CoordinatorRequestContext, _ op: TeamwireCore.Operation, _ registry: Registry,
        handle: @Sendable (ControlCodec.OpenedRequest, String?) async -> Result<[UInt8], APIError>
    ) async -> Response {
        let body: ByteBuffer
        do { body = try await req.body.collect(upTo: Envelope.maxSize) } catch is NIOTooManyBytesError {
            return errorResponse(APIError(.bodyTooLarge, "request body is larger than \(Envelope.maxSize) bytes"))
        } catch {
            // The client stopped sending before its Content-Length: not a large body.
            return errorResponse(APIError(.badRequest, "the request body ended before its Content-Length (\(error))"))
        }
        let bytes = Array(buffer: body)
        let opened: ControlCodec.OpenedRequest, shared: SharedKey
        switch registry.open(bytes, op: op) {
        case .success(let (o, s)): (opened, shared) = (o, s)
        case .failure(let e):
            if e.code == .clockSkew || e.code == .replayed, let (o, s) = try? openWithoutReplayCheck(bytes, op, registry) {
                // Authenticated but stale: seal the refusal so the node can trust the server time.
                return sealedResponse(.failure(e), nonce: o.nonce, shared: s, registry: registry)
            }
            return errorResponse(e)
        }
        let result = await handle(opened, ctx.remoteAddress?.ipAddress)
        return sealedResponse(result, nonce: opened.nonce, shared: shared, registry: registry)
    }

    static func openWithoutReplayCheck(_ bytes: [UInt8], _ op: TeamwireCore.Operation, _ registry: Registry) throws -> (ControlCodec.OpenedRequest, SharedKey) {
        var shared: SharedKey?
        let o = try ControlCodec.openRequest(bytes, expecting: op) { k in
            let s = registry.sharedKey(for: k)
            shared = s
            return s
        }
        return (o, shared!)
    }

    static func sealedResponse(_ result: Result<[UInt8], APIError>, nonce: [UInt8], shared: SharedKey, registry: Registry) -> Response {
        let now = registry.clock()
        let bytes: [UInt8]
        let status: HTTPResponse.Status
        switch result {
        case .success(let ok):
            bytes = ControlCodec.sealReply(encodedOK: ok, inReplyTo: nonce, sharedKey: shared, nowMillis: now)
            status = .ok
        case .failure(let e):
            bytes = ControlCodec.sealReply(Result<Empty, APIError>.failure(e), inReplyTo: nonce, sharedKey: shared, nowMillis: now)
            status = httpStatus(e.code)
        }
        return Response(status: status, headers: [.contentType: Envelope.contentType], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: ControlCodec.encodeJSON(value) + [10])))
}

func errorResponse(_ e: APIError) -> Response {
    jsonResponse(ErrorBody(e), status: httpStatus(e.code))
}

/// Answers what the router itself refuses (an unknown path, or a method the path does not take)
/// with the same JSON error body as every other refusal, instead of an empty 404.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as HTTPError {
            let what = "\(request.method) \(request.uri.path.prefix(200))"
            let error = e.status == .notFound
                ? APIError(.notFound, "no endpoint \(what)")
                : APIError(.badRequest, "\(what): \(e.body ?? e.status.reasonPhrase)")
            return jsonResponse(ErrorBody(error), status: e.status)
        }
    }
}

func httpStatus(_ code: ErrorCode) -> HTTPResponse.Status {
    switch code {
    case .bodyTooLarge: .contentTooLarge
    case .cannotOpen, .clockSkew: .unauthorized
    case .unknownNode, .nodeRemoved, .unknownToken, .tokenExpired, .tokenRevoked, .tokenUsedUp, .wrongTeam: .forbidden
    case .replayed, .teamExists, .nameTaken, .prefixOverlap, .keyInOtherTeam, .prefixFull, .noFreePrefix: .conflict
    case .teamNotFound, .nodeNotFound, .tokenNotFound, .notFound: .notFound
    case .internalError: .internalServerError
    default: .badRequest
    }
}
