import AsyncHTTPClient
import Coordinator
import CoordinatorClient
import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
import TeamwireCore

/// A man in the middle on loopback: forwards the public API to the real coordinator and lets a
/// test rewrite each reply. Everything it saw is recorded.
final class MITMProxy: Stoppable {
    let group: ServiceGroup
    let task: Task<Void, Error>
    let port: Int

    /// While `stalling`, the reply is held back after the coordinator answered (until the
    /// client gives up or `stop`): an answer lost on the way back.
    let stalling: Locked<Bool>

    init(upstream: Int, rewrite: @escaping @Sendable (_ request: [UInt8], _ reply: [UInt8]) -> [UInt8] = { $1 }) async throws {
        let router = Router()
        let seen = Locked<[[UInt8]]>([])
        let stalling = Locked(false)
        self.stalling = stalling
        router.post("/v1/:op") { req, ctx -> Response in
            let body = Array(buffer: try await req.body.collect(upTo: 1 << 20))
            seen.mutate { $0.append(body) }
            var up = HTTPClientRequest(url: "http://127.0.0.1:\(upstream)/v1/\(ctx.parameters.get("op")!)")
            up.method = .POST
            up.headers.add(name: "Content-Type", value: Envelope.contentType)
            up.body = .bytes(ByteBuffer(bytes: body))
            let resp = try await HTTPClient.shared.execute(up, timeout: .seconds(30))
            let reply = Array(buffer: try await resp.body.collect(upTo: 64 << 20))
            while stalling.value { try await Task.sleep(for: .milliseconds(20)) }
            return Response(status: .init(code: Int(resp.status.code)), headers: [.contentType: resp.headers.first(name: "Content-Type") ?? ""],
                            body: .init(byteBuffer: ByteBuffer(bytes: rewrite(body, reply))))
        }
        let (stream, cont) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: "mitm")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { cont.yield($0.localAddress?.port ?? 0) }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        self.group = group
        self.task = Task { try await group.run() }
        var p = 0
        for await x in stream { p = x; break }
        self.port = p
        self.seen = seen
    }

    private let seen: Locked<[[UInt8]]>
    var requests: [[UInt8]] { seen.value }

    func stop() async {
        stalling.value = false
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

extension IntegrationTests {
    @Suite("Enrolment")
    struct EnrolmentTests {
        @Test func endToEndFromTokenOnly() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris", cidr: "100.80.0.0/24")
                let text = try await tc.admin.createToken(team: "iris", CreateTokenRequest(uses: 5)).token
                // The node gets nothing but the text of the token.
                let token = try EnrolmentToken(parsing: text + "\n")
                let key = PrivateKey.generate()
                let node = NodeClient(token: token, privateKey: key)
                let reply = try await node.enroll(token: token, name: "robot1", endpoints: [Endpoint("192.0.2.10:51820")!, Endpoint("[2001:db8::10]:51820")!], listenPort: 51820)
                #expect(reply.node.name == "robot1")
                #expect(reply.node.publicKey == key.publicKey)
                #expect(reply.node.address == IPv4Address("100.80.0.2")!)
                #expect(reply.node.endpoints.count == 2)
                #expect(reply.node.observedEndpoint == Endpoint("127.0.0.1:51820")!)
                #expect(reply.map.full && reply.map.members?.map(\.publicKey) == [key.publicKey])
                #expect(reply.map.team.name == "iris" && reply.map.team.rosDomainID == 1)

                // The same key enrolling again keeps its address (and may rename itself).
                let again = try await node.enroll(token: token, name: "robot1b")
                #expect(again.node.address == reply.node.address && again.node.name == "robot1b")
                #expect(try await tc.admin.listNodes(team: "iris").map(\.name) == ["robot1b"])

                // Another key may not take a name in use.
                let clash = await refusal { () async throws(ClientError) in try await tc.node(token).enroll(token: token, name: "robot1b") }
                #expect(clash == .nameTaken)
                // A key enrolled in one team cannot enrol in another.
                try await tc.createTeam("atlas")
                let atlasToken = try await tc.token("atlas")
                let other = await refusal { () async throws(ClientError) in try await NodeClient(token: atlasToken, privateKey: key).enroll(token: atlasToken, name: "x") }
                #expect(other == .keyInOtherTeam)
            }
        }

        @Test func fullPrefixIsAClearError() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("tiny", cidr: "100.99.0.0/30")  // hub + one member
                let token = try await tc.token("tiny", uses: 5)
                let (_, first) = try await tc.enroll(token, name: "only")
                #expect(first.node.address == IPv4Address("100.99.0.2")!)
                let full = await refusalError { () async throws(ClientError) in try await tc.node(token).enroll(token: token, name: "second") }
                guard case .refused(let e)? = full else { Issue.record("expected refusal, got \(String(describing: full))"); return }
                #expect(e.code == .prefixFull && e.message.contains("100.99.0.0/30"))
                #expect(try await tc.admin.listTokens(team: "tiny")[0].uses == 1)
            }
        }

        @Test func manInTheMiddleLearnsNothingAndCannotForgeReplies() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 10)
                let mode = Locked("pass")
                let captured = Locked<[UInt8]?>(nil)
                let attacker = PrivateKey.generate()
                let proxy = try await MITMProxy(upstream: tc.port) { request, reply in
                    switch mode.value {
                    case "flip":
                        var r = reply
                        r[r.count - 5] ^= 0x01
                        return r
                    case "resign":
                        // Re-seal a reply of the attacker's own to the node's key.
                        let nodeKey = try! PublicKey(rawValue: Array(request[4..<36]))
                        let fake = EnrollReply(node: Member(name: "evil", publicKey: nodeKey, address: IPv4Address("100.64.0.66")!, role: .robot),
                                               map: MapUpdate(revision: 99, full: true, team: TeamSettings(name: "iris", prefix: IPv4Prefix("100.64.0.0/24")!, mode: .auto, rosDomainID: 0),
                                                              hub: HubPeer(publicKey: attacker.publicKey, address: IPv4Address("100.64.0.1")!, endpoints: []), members: []))
                        return ControlCodec.sealReply(.success(fake), inReplyTo: Array(request[36..<60]), sharedKey: SharedKey(privateKey: attacker, publicKey: nodeKey), nowMillis: 0)
                    case "replay":
                        return captured.value ?? reply
                    default:
                        captured.value = reply
                        return reply
                    }
                }
                try await proxy.stopping { _ in
                    var viaProxy = token
                    viaProxy.endpoints = [Endpoint("127.0.0.1:\(proxy.port)")!]

                    // Passing through: enrolment works, and the proxy saw neither the secret nor the name.
                    let key = PrivateKey.generate()
                    let node = NodeClient(token: viaProxy, privateKey: key)
                    _ = try await node.enroll(token: token, name: "robot-secretname")
                    let wire = proxy.requests.flatMap { $0 }
                    #expect(!contains(wire, token.secret))
                    #expect(!contains(wire, Array(Base64.encode(token.secret).utf8)))
                    #expect(!contains(wire, Array("robot-secretname".utf8)))

                    for (m, expectedCode) in [("flip", ErrorCode.cannotOpen), ("resign", .cannotOpen), ("replay", .replayed)] {
                        let victim = NodeClient(token: viaProxy, privateKey: .generate())
                        if m == "replay" {
                            // An old, genuine reply to this same node, replayed to its next request.
                            mode.value = "pass"
                            _ = try await victim.enroll(token: token, name: "n-replay")
                        }
                        mode.value = m
                        let e = await refusalError { () async throws(ClientError) in try await victim.enroll(token: token, name: "n-\(m)") }
                        guard case .badReply(let why)? = e else { Issue.record("\(m): expected the client to reject the reply, got \(String(describing: e))"); continue }
                        #expect(why.contains(expectedCode == .replayed ? "does not answer this request" : "not sealed by the pinned coordinator key"), "\(m): \(why)")
                    }
                }
            }
        }

        @Test func requestSealedToAnotherKeyIsRefused() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris")
                let auditBefore = try await tc.admin.audit(team: nil).count
                let impostor = NodeClient(coordinatorKey: PrivateKey.generate().publicKey, endpoints: token.endpoints, privateKey: .generate())
                let e = await refusalError { () async throws(ClientError) in try await impostor.enroll(token: token, name: "robot1") }
                guard case .unauthenticated(let status, let api)? = e else { Issue.record("expected a plain refusal, got \(String(describing: e))"); return }
                #expect(status == 401 && api?.code == .cannotOpen)
                #expect(try await tc.admin.listNodes(team: nil).isEmpty)
                #expect(try await tc.admin.listTokens(team: "iris")[0].uses == 0)
                #expect(try await tc.admin.audit(team: nil).count == auditBefore)
            }
        }

        @Test func hundredsOfConcurrentEnrolmentsGetDistinctAddresses() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("swarm", cidr: "100.96.0.0/22")
                let token = try await tc.token("swarm", reusable: true)
                let n = 300
                let addresses = try await withThrowingTaskGroup(of: IPv4Address.self) { group in
                    for i in 0..<n {
                        group.addTask { try await tc.enroll(token, name: "r\(i)").1.node.address }
                    }
                    return try await group.reduce(into: [IPv4Address]()) { $0.append($1) }
                }
                #expect(Set(addresses).count == n)
                #expect(addresses.allSatisfy { IPv4Prefix("100.96.0.0/22")!.contains($0) && $0 != IPv4Address("100.96.0.1")! })
                // The store agrees: n rows, n distinct addresses, one revision bump per enrolment.
                let db = try DatabaseQueue(path: tc.databasePath)
                let (rows, distinct, revision) = try await db.read { db in
                    (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM node")!, try Int.fetchOne(db, sql: "SELECT COUNT(DISTINCT address) FROM node")!,
                     try Int.fetchOne(db, sql: "SELECT revision FROM team WHERE name = 'swarm'")!)
                }
                #expect(rows == n && distinct == n && revision == 1 + n)
                #expect(try await tc.admin.listTokens(team: "swarm")[0].uses == n)
            }
        }
    }
}
