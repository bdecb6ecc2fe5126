import Foundation
import Hummingbird
import NIOCore
import TeamwireCore

/// The admin API on the coordinator's Unix socket (mode 0600, or 0660 root:teamwire-admin when
/// that group exists: the file permission is the authentication). JSON in and out; errors are
/// `{"error": {"code", "message"}}`.
///   GET    /v1/teams                       POST /v1/teams
///   GET    /v1/teams/:team/tokens          POST /v1/teams/:team/tokens
///   DELETE /v1/tokens/:id
///   GET    /v1/nodes[?team=T]              DELETE /v1/teams/:team/nodes/:name
///   PUT    /v1/teams/:team/ros-master      PUT /v1/teams/:team/settings
///   GET    /v1/audit[?team=T&limit=N]
///   GET    /v1/info                        GET /v1/stats
enum AdminAPI {
    static let maxBody = 64 * 1024

    static func router(_ registry: Registry) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: JSONErrorMiddleware())
        router.get("/v1/info") { _, _ in
            jsonResponse(CoordinatorInfo(publicKey: registry.identity.publicKey, endpoints: registry.tokenEndpoints, version: TeamwireVersion.string))
        }
        router.get("/v1/stats") { _, _ in jsonResponse(registry.stats) }
        router.get("/v1/teams") { _, _ in jsonResponse(registry.listTeams()) }
        router.post("/v1/teams") { req, _ in
            await respond(req, CreateTeamRequest.self) { body in await registry.createTeam(body, actor: actor(req)) }
        }
        router.get("/v1/teams/:team/tokens") { _, ctx in
            reply(await registry.listTokens(team: ctx.parameters.get("team") ?? ""))
        }
        router.post("/v1/teams/:team/tokens") { req, ctx in
            let team = ctx.parameters.get("team") ?? ""
            return await respond(req, CreateTokenRequest.self) { body in await registry.createToken(team: team, body, actor: actor(req)) }
        }
        router.delete("/v1/tokens/:id") { req, ctx in
            reply(await registry.revokeToken(id: ctx.parameters.get("id") ?? "", actor: actor(req)))
        }
        router.get("/v1/nodes") { req, _ in
            reply(registry.listNodes(team: req.uri.queryParameters.get("team")))
        }
        router.delete("/v1/teams/:team/nodes/:name") { req, ctx in
            reply(await registry.removeNode(team: ctx.parameters.get("team") ?? "", name: ctx.parameters.get("name") ?? "", actor: actor(req)))
        }
        router.put("/v1/teams/:team/ros-master") { req, ctx in
            let team = ctx.parameters.get("team") ?? ""
            return await respond(req, SetRosMasterRequest.self) { body in await registry.setRosMaster(team: team, name: body.name, actor: actor(req)) }
        }
        router.put("/v1/teams/:team/settings") { req, ctx in
            let team = ctx.parameters.get("team") ?? ""
            return await respond(req, SetTeamSettingsRequest.self) { body in await registry.setTeamSettings(team: team, body, actor: actor(req)) }
        }
        router.get("/v1/audit") { req, _ in
            let q = req.uri.queryParameters
            guard let limit = Int(q.get("limit") ?? "1000") else {
                return errorResponse(APIError(.invalidArgument, "limit must be a number"))
            }
            return reply(await registry.auditEvents(team: q.get("team"), limit: limit))
        }
        return router
    }

    /// "admin:USER" from the CLI's header, restricted to a safe alphabet.
    static func actor(_ req: Request) -> String {
        let raw = req.headers[.init("X-Teamwire-Actor")!] ?? "unknown"
        let safe = String(raw.unicodeScalars.filter { CharacterSet.alphanumerics.contains($0) || "._-@".unicodeScalars.contains($0) }.prefix(48).map(Character.init))
        return "admin:\(safe.isEmpty ? "unknown" : safe)"
    }

    static func reply<T: Encodable>(_ r: Result<T, APIError>) -> Response {
        switch r {
        case .success(let v): jsonResponse(v)
        case .failure(let e): errorResponse(e)
        }
    }

    static func respond<B: Codable & Sendable, T: Encodable>(_ req: Request, _ type: B.Type, _ body: (B) async -> Result<T, APIError>) async -> Response {
        let buffer: ByteBuffer
        do { buffer = try await req.body.collect(upTo: maxBody) } catch is NIOTooManyBytesError {
            return errorResponse(APIError(.bodyTooLarge, "request body is larger than \(maxBody) bytes"))
        } catch {
            return errorResponse(APIError(.badRequest, "the request body ended before its Content-Length (\(error))"))
        }
        do {
            return reply(await body(try StrictJSON.decode(B.self, from: Array(buffer: buffer))))
        } catch {
            return errorResponse(error)
        }
    }
}
