#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import DaemonFiles
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The agent's API on `agent.sock` in its state directory. The file mode is the authentication,
/// as for the coordinator's admin socket: 0600 root's, or 0660 root:GROUP so that the group's
/// members (a ROS user, `teamwire-ros.service`) read the status without root. Joining and
/// leaving change the node's network and every ROS process's DDS peers, so they stay root's:
/// the kernel says who is calling (SO_PEERCRED). See `AgentMessages.swift`.
///
/// A bare NIO HTTP/1.1 server, one request per connection (the CLI sends `Connection: close`):
/// three routes need no framework, and a robot's agent should map as little code as it can.
/// Nothing in it runs on a timer, so it costs no wake-ups while idle.
public enum AgentAPI {
    static let maxBody = 16 * 1024
    /// Connections one caller other than root may hold open at once (`ConnectionLimit`).
    static let connectionsPerCaller = 8
    /// A request must have arrived whole this long after the connection opened (`RequestDeadline`).
    /// Answers may take longer: a join waits for the coordinator.
    static let requestDeadline = TimeAmount.seconds(5)

    /// Binds the socket and serves until the task is cancelled; `socketGroup` (nil: none)
    /// may use it too; `listening` runs once it accepts.
    public static func serve(_ agent: Agent, socketGroup: gid_t? = nil, logger: Logger, listening: @Sendable () -> Void = {}) async throws {
        let path = agent.store.paths.socketPath
        unlink(path)
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(unixDomainSocketPath: path) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(RequestDeadline(requestDeadline))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        var group = socketGroup
        do { try SocketAccess.share(path, with: group) } catch {
            // Without CAP_CHOWN (a unit that drops it) the socket stays root's; the rest works.
            logger.warning("agent socket stays root's alone", metadata: ["error": "\(error)"])
            group = nil
            try SocketAccess.share(path, with: nil)
        }
        var about: Logger.Metadata = ["path": "\(path)", "mode": "0600"]
        if let g = group { (about["mode"], about["group"]) = ("0660", "\(SocketAccess.groupName(g) ?? String(g))") }
        logger.info("agent socket ready", metadata: about)
        listening()
        let limit = ConnectionLimit(perCaller: connectionsPerCaller)
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { connections in
                for try await connection in connections {
                    let caller = await peerUID(connection.channel)
                    guard limit.admit(caller) else {
                        logger.debug("agent socket: connection refused, too many open", metadata: ["uid": "\(caller.map(String.init) ?? "?")"])
                        try? await connection.channel.close()
                        continue
                    }
                    group.addTask {
                        await exchange(connection, agent, caller: caller)
                        limit.release(caller)
                    }
                }
            }
        }
    }

    /// Reads one request, answers it, closes the connection.
    static func exchange(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, _ agent: Agent, caller: uid_t?) async {
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
                    let (status, reply) = await answer(head, body: tooLarge ? nil : body, agent, connection.channel, caller: caller)
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

    /// The uid of the process on the other end, from the kernel (nil if it cannot say).
    static func peerUID(_ channel: any Channel) async -> uid_t? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let cred: PeerCredentials? = try? await provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)).get()
        return cred?.uid
    }

    /// Linux's `struct ucred` (pid, uid, gid: three 32-bit fields), which Glibc's module map
    /// does not import (it needs _GNU_SOURCE).
    struct PeerCredentials: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    /// `respond`; for a join or a ping, cancelled when the client hangs up (Ctrl-C on `teamwire
    /// join` stops the enrolment attempt in flight, on `teamwire ping` the probe).
    static func answer(_ head: HTTPRequestHead, body: [UInt8]?, _ agent: Agent, _ channel: any Channel, caller: uid_t?) async -> (Int, [UInt8]) {
        guard head.uri == "/v1/join" || head.uri == "/v1/ping" else { return await respond(head, body: body, agent, caller: caller) }
        let work = Task { await respond(head, body: body, agent, caller: caller) }
        channel.closeFuture.whenComplete { _ in work.cancel() }
        return await withTaskCancellationHandler { await work.value } onCancel: { work.cancel() }
    }

    /// The status and JSON body answering one request (`body` nil: it was over the cap) from
    /// the process of uid `caller`.
    static func respond(_ head: HTTPRequestHead, body: [UInt8]?, _ agent: Agent, caller: uid_t?) async -> (Int, [UInt8]) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if head.method == .POST, let verb = ["/v1/join": "joining", "/v1/leave": "leaving"][path], caller != 0 {
            return failure(APIError(ErrorCode("forbidden"), "\(verb) a team changes this node's network and needs root: run it with sudo"), status: 403)
        }
        switch (head.method, path) {
        case (.GET, "/v1/status"): return (200, ControlCodec.encodeJSON(await agent.status()))
        case (.POST, "/v1/join"): return await handle(body, JoinRequest.self) { try await agent.join($0) }
        case (.POST, "/v1/leave"): return await handle(body, LeaveRequest.self) { try await agent.leave($0.team) }
        case (.POST, "/v1/ping"): return await handle(body, PingRequest.self) { try await agent.ping($0) }
        case (_, "/v1/status"), (_, "/v1/join"), (_, "/v1/leave"), (_, "/v1/ping"):
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
        do { return (200, ControlCodec.encodeJSON(try await run(value))) } catch let e as APIError {
            return failure(e, status: 422)  // with its own code (join: the coordinator did not answer)
        } catch {
            return failure(APIError(.badRequest, "\(error)"), status: 422)
        }
    }

    static func failure(_ e: APIError, status: Int) -> (Int, [UInt8]) { (status, ControlCodec.encodeJSON(ErrorBody(e))) }
}
