import AsyncHTTPClient
@testable import Coordinator
import CoordinatorClient
import Foundation
import NIOCore
import Testing
import TeamwireCore

/// What a hostile request must not change: teams (with revision and member count), nodes, and
/// tokens with their uses. `lastSeen` is blanked: any authenticated request refreshes it.
struct StateSnapshot: Equatable {
    var teams: [TeamInfo]
    var nodes: [NodeInfo]
    var tokens: [TokenInfo]

    static func take(_ tc: TestCoordinator) async throws -> StateSnapshot {
        let teams = try await tc.admin.listTeams()
        var tokens: [TokenInfo] = []
        for t in teams { tokens += try await tc.admin.listTokens(team: t.name) }
        var nodes = try await tc.admin.listNodes(team: nil)
        for i in nodes.indices { nodes[i].lastSeen = nil }
        return StateSnapshot(teams: teams, nodes: nodes, tokens: tokens)
    }
}

extension IntegrationTests {
    /// Requests whose crypto is right (a valid box from the sender's key, built with the real
    /// codec) but whose JSON inside is hostile: always a clear 4xx, nothing changed but the audit
    /// entries the coordinator writes on purpose, and the coordinator keeps serving.
    @Suite("Hostile sealed payloads")
    struct HostileSealedTests {
        /// Seals for one sender key, with the real ControlCodec and Envelope.
        struct Sealer {
            let sender: PublicKey
            let shared: SharedKey

            init(_ tc: TestCoordinator, key: PrivateKey) {
                sender = key.publicKey
                shared = SharedKey(privateKey: key, publicKey: tc.publicKey)
            }

            /// Claims `sender` in the envelope while sealing with `shared` (for forged senders).
            init(sender: PublicKey, shared: SharedKey) {
                self.sender = sender
                self.shared = shared
            }

            func seal<B: Codable & Sendable>(_ op: TeamwireCore.Operation, _ body: B) -> (bytes: [UInt8], nonce: [UInt8]) {
                let s = ControlCodec.sealRequest(op, body, senderKey: sender, sharedKey: shared, nowMillis: Registry.wallClockMillis())
                return (s.bytes, s.nonce)
            }

            /// Any plaintext in a valid box: a real envelope from the codec with its box resealed.
            func seal(plaintext: String) -> (bytes: [UInt8], nonce: [UInt8]) {
                var env = try! Envelope.decodeRequest(seal(.leave, Empty()).bytes)
                (env.nonce, env.box) = shared.seal(Array(plaintext.utf8))
                return (Envelope.encode(env), env.nonce)
            }
        }

        /// A complete request's JSON with `body` spliced in verbatim.
        static func request(_ op: String, _ body: String, ts: String? = nil) -> String {
            #"{"type":"request","op":"\#(op)","ts":\#(ts ?? String(Registry.wallClockMillis())),"body":\#(body)}"#
        }

        struct Answer<R> {
            var status: Int
            /// True when the reply was sealed by the coordinator (and opened with the pinned key).
            var sealed: Bool
            var result: Result<R, APIError>
        }

        /// POSTs and decodes the answer the way NodeClient does: by content type, a sealed reply
        /// opened and bound to the request, or a plain `ErrorBody`.
        static func post<R: Codable & Sendable>(
            _ tc: TestCoordinator, _ path: String, _ s: (bytes: [UInt8], nonce: [UInt8]), shared: SharedKey, as: R.Type = Empty.self
        ) async throws -> Answer<R> {
            var req = HTTPClientRequest(url: "http://127.0.0.1:\(tc.port)\(path)")
            req.method = .POST
            req.headers.add(name: "Content-Type", value: Envelope.contentType)
            req.body = .bytes(ByteBuffer(bytes: s.bytes))
            let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
            let body = Array(buffer: try await resp.body.collect(upTo: Envelope.maxReplySize))
            let status = Int(resp.status.code)
            if resp.headers.first(name: "Content-Type") == Envelope.contentType {
                return Answer(status: status, sealed: true, result: try ControlCodec.openReply(body, as: R.self, sharedKey: shared, requestNonce: s.nonce))
            }
            let plain = try JSONDecoder().decode(ErrorBody.self, from: Data(body))
            return Answer(status: status, sealed: false, result: .failure(plain.error))
        }

        static func expectRefused<R>(
            _ a: Answer<R>, _ label: String, status: Int = 400, code: ErrorCode = .badRequest, mentioning: String, sealed: Bool = true,
            sourceLocation: SourceLocation = #_sourceLocation
        ) {
            #expect(a.status == status, "\(label): HTTP \(a.status), expected \(status)", sourceLocation: sourceLocation)
            #expect(a.sealed == sealed, "\(label): the refusal should \(sealed ? "" : "not ")be sealed", sourceLocation: sourceLocation)
            guard case .failure(let e) = a.result else {
                Issue.record("\(label): accepted, expected \(code)", sourceLocation: sourceLocation)
                return
            }
            #expect(e.code == code, "\(label): code \(e.code), expected \(code) (\(e.message))", sourceLocation: sourceLocation)
            #expect(e.message.contains(mentioning), "\(label): message '\(e.message)' should mention '\(mentioning)'", sourceLocation: sourceLocation)
        }

        /// `[[[…]]]` nested `depth` deep.
        static func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }

        static func endpoints(_ n: Int) -> [Endpoint] {
            (0..<n).map { Endpoint(host: .ipv4(IPv4Address(0xC000_0200 + UInt32($0 % 250) + 1)), port: UInt16(20000 + $0)) }
        }

        // MARK: map

        @Test func hostileMapRequests() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 5)
                let key = PrivateKey.generate()
                let (node, enrolled) = try await tc.enroll(token, name: "robot1", key: key)
                let s = Sealer(tc, key: key)
                let rev = enrolled.map.revision
                let before = try await StateSnapshot.take(tc)
                let auditBefore = try await tc.admin.audit(team: nil)

                func refused(_ label: String, _ plaintext: String, status: Int = 400, code: ErrorCode = .badRequest, mentioning: String, sealed: Bool = true,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    let a = try await Self.post(tc, "/v1/map", s.seal(plaintext: plaintext), shared: s.shared)
                    Self.expectRefused(a, label, status: status, code: code, mentioning: mentioning, sealed: sealed, sourceLocation: sourceLocation)
                }
                func r(_ op: String, _ body: String, ts: String? = nil) -> String { Self.request(op, body, ts: ts) }

                // Unknown fields, in the body and beside it.
                try await refused("unknown body field", r("map", #"{"since":0,"waitSeconds":0,"admin":true}"#), mentioning: "unknown field 'body.admin'")
                try await refused("unknown top-level field", r("map", #"{"since":0,"waitSeconds":0}"#).dropLast() + #","team":"atlas"}"#,
                                  mentioning: "unknown field 'team'")
                // Wrong JSON types.
                try await refused("since as string", r("map", #"{"since":"0","waitSeconds":0}"#), mentioning: "wrong type at 'body.since'")
                try await refused("waitSeconds as bool", r("map", #"{"since":0,"waitSeconds":true}"#), mentioning: "wrong type at 'body.waitSeconds'")
                try await refused("body as array", r("map", "[0,0]"), mentioning: "wrong type at 'body'")
                try await refused("body as null", r("map", "null"), mentioning: "missing value at 'body'")
                // Missing fields.
                try await refused("missing waitSeconds", r("map", #"{"since":0}"#), mentioning: "missing field 'waitSeconds'")
                try await refused("missing body", #"{"type":"request","op":"map","ts":\#(Registry.wallClockMillis())}"#, mentioning: "missing field 'body'")
                // Deeply nested JSON: past the strict decoder's limit, and past the JSON parser's own.
                try await refused("nested 40 deep", r("map", #"{"since":0,"waitSeconds":0,"x":\#(Self.nested(40))}"#), mentioning: "nested too deeply")
                try await refused("nested 30000 deep", r("map", #"{"since":0,"waitSeconds":0,"x":\#(Self.nested(30_000))}"#),
                                  mentioning: "not a valid request", sealed: false)
                // Out-of-range waitSeconds is refused, not clamped.
                for w in ["121", "-1", String(Int.max), String(Int.min)] {
                    try await refused("waitSeconds \(w)", r("map", #"{"since":0,"waitSeconds":\#(w)}"#), mentioning: "waitSeconds must be 0...120")
                }
                for w in ["1e30", "1.5", "99999999999999999999"] {
                    try await refused("waitSeconds \(w)", r("map", #"{"since":0,"waitSeconds":\#(w)}"#), mentioning: "a number does not fit its field")
                }
                // Revisions that are not UInt64.
                for since in ["-1", "1.5", "18446744073709551616"] {
                    try await refused("since \(since)", r("map", #"{"since":\#(since),"waitSeconds":0}"#), mentioning: "a number does not fit its field")
                }
                try await refused("since 1e400", r("map", #"{"since":1e400,"waitSeconds":0}"#), mentioning: "the number at 'body.since' is beyond what a JSON number can hold")
                // An op that does not match the path, and heads that are not requests: the coordinator
                // stops before the replay check, so these answers are plain.
                try await refused("op report on /v1/map", r("report", #"{"since":0,"waitSeconds":0}"#), mentioning: "is for 'report' but was sent to /v1/map", sealed: false)
                try await refused("unknown op", r("shutdown", "{}"), mentioning: "not a valid request", sealed: false)
                try await refused("type reply", #"{"type":"reply","op":"map","ts":\#(Registry.wallClockMillis()),"body":{"since":0,"waitSeconds":0}}"#,
                                  mentioning: "not a request", sealed: false)
                try await refused("ts as string", r("map", #"{"since":0,"waitSeconds":0}"#, ts: #""now""#), mentioning: "not a valid request", sealed: false)
                try await refused("not JSON", "hello", mentioning: "not a valid request", sealed: false)
                try await refused("empty plaintext", "", mentioning: "not a valid request", sealed: false)
                // The same op mismatch built with the real codec: a sealed report sent to /v1/map.
                let misrouted = try await Self.post(tc, "/v1/map", s.seal(.report, ReportRequest(endpoints: [], listenPort: nil)), shared: s.shared)
                Self.expectRefused(misrouted, "real report to /v1/map", mentioning: "is for 'report'", sealed: false)

                #expect(try await StateSnapshot.take(tc) == before)
                #expect(try await tc.admin.audit(team: nil) == auditBefore, "map refusals write no audit entries")

                // A since-revision in the future is accepted by design (a node that outlived a restore
                // of the coordinator's state): the answer is the full map at the current revision.
                for since in [rev + 1, UInt64.max] {
                    let a = try await Self.post(tc, "/v1/map", s.seal(.map, MapRequest(since: since, waitSeconds: 0)), shared: s.shared, as: MapUpdate.self)
                    let map = try a.result.get()
                    #expect(a.status == 200 && map.full && map.revision == rev && map.members?.map(\.name) == ["robot1"], "since \(since)")
                }
                // …and made-up revisions share one cached full map: they cannot grow the cache.
                for since in 0..<50 as Range<UInt64> {
                    _ = try await Self.post(tc, "/v1/map", s.seal(.map, MapRequest(since: rev + 1000 + since, waitSeconds: 0)), shared: s.shared, as: MapUpdate.self).result.get()
                }
                let cached = tc.registry.state.withLock { s in s.teams.values.map { Array($0.encoded.keys) } }
                #expect(cached.allSatisfy { $0.count <= 2 }, "cached encodings per since: \(cached.map(\.count))")

                // Still serving: a normal map and a normal enrolment.
                let map = try await node.map(since: 0)
                #expect(map.full && map.revision == rev)
                let (_, second) = try await tc.enroll(token, name: "robot2")
                #expect(second.map.revision == rev + 1 && second.map.members?.count == 2)
            }
        }

        // MARK: report and leave

        @Test func hostileReports() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 5)
                let k1 = PrivateKey.generate(), k2 = PrivateKey.generate()
                let (node1, _) = try await tc.enroll(token, name: "robot1", key: k1)
                _ = try await tc.enroll(token, name: "robot2", key: k2)
                let s = Sealer(tc, key: k1)
                let before = try await StateSnapshot.take(tc)
                let auditBefore = try await tc.admin.audit(team: nil)

                func refused(_ label: String, _ sealed: (bytes: [UInt8], nonce: [UInt8]), path: String = "/v1/report", status: Int = 400, code: ErrorCode = .badRequest,
                             mentioning: String, sealedReply: Bool = true, shared: SharedKey? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    let a = try await Self.post(tc, path, sealed, shared: shared ?? s.shared)
                    Self.expectRefused(a, label, status: status, code: code, mentioning: mentioning, sealed: sealedReply, sourceLocation: sourceLocation)
                }
                func r(_ op: String, _ body: String, ts: String? = nil) -> String { Self.request(op, body, ts: ts) }

                // 1000 endpoint candidates (and one more than the limit), sealed with the real codec.
                try await refused("1000 endpoints", s.seal(.report, ReportRequest(endpoints: Self.endpoints(1000), listenPort: 51820)),
                                  mentioning: "too many endpoint candidates (1000, at most 32)")
                try await refused("33 endpoints", s.seal(.report, ReportRequest(endpoints: Self.endpoints(33), listenPort: 51820)), mentioning: "too many endpoint candidates (33")
                // Endpoints that are not HOST:PORT.
                for bad in ["not-an-endpoint", "192.0.2.1", "192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:-1", "192.0.2.1:080", "999.1.1.1:51820",
                            "[::1]", "[not-v6]:51820", "", ":51820", "192.0.2.1:51820 ", "-bad-.example:51820", "a..b:51820", "\\u0000:1"] {
                    try await refused("endpoint \"\(bad)\"", s.seal(plaintext: r("report", #"{"endpoints":["\#(bad)"],"listenPort":51820}"#)), mentioning: "invalid endpoint")
                }
                try await refused("endpoint as number", s.seal(plaintext: r("report", #"{"endpoints":[3232235521],"listenPort":51820}"#)), mentioning: "wrong type at 'body.endpoints.[0]'")
                try await refused("endpoints as string", s.seal(plaintext: r("report", #"{"endpoints":"192.0.2.1:51820"}"#)), mentioning: "wrong type at 'body.endpoints'")
                try await refused("endpoint as object", s.seal(plaintext: r("report", #"{"endpoints":[{"host":"192.0.2.1","port":51820}]}"#)), mentioning: "body.endpoints")
                for port in ["70000", "-1", "5.5"] {
                    try await refused("listenPort \(port)", s.seal(plaintext: r("report", #"{"endpoints":[],"listenPort":\#(port)}"#)), mentioning: "a number does not fit its field")
                }
                try await refused("listenPort as string", s.seal(plaintext: r("report", #"{"endpoints":[],"listenPort":"51820"}"#)), mentioning: "wrong type at 'body.listenPort'")
                try await refused("missing endpoints", s.seal(plaintext: r("report", #"{"listenPort":51820}"#)), mentioning: "missing field 'endpoints'")
                try await refused("nested 40 deep", s.seal(plaintext: r("report", #"{"endpoints":\#(Self.nested(40))}"#)), mentioning: "nested too deeply")
                // A report (or leave) naming another node: the body has no such field, so it is refused
                // rather than ignored, and robot2's record is untouched.
                try await refused("report naming robot2", s.seal(plaintext: r("report", #"{"endpoints":["192.0.2.99:51820"],"listenPort":51820,"name":"robot2"}"#)),
                                  mentioning: "unknown field 'body.name'")
                try await refused("report with robot2's key", s.seal(plaintext: r("report", #"{"endpoints":[],"publicKey":"\#(k2.publicKey.base64Key)"}"#)),
                                  mentioning: "unknown field 'body.publicKey'")
                try await refused("leave naming robot2", s.seal(plaintext: r("leave", #"{"name":"robot2"}"#)), path: "/v1/leave", mentioning: "unknown field 'body.name'")
                // A leave's body is an empty object; null or a number is not one.
                try await refused("leave with a null body", s.seal(plaintext: r("leave", "null")), path: "/v1/leave", mentioning: "missing value at 'body'")
                try await refused("leave with a number body", s.seal(plaintext: r("leave", "5")), path: "/v1/leave", mentioning: "wrong type at 'body'")
                // robot2's key in the envelope, box sealed with robot1's key: cannot be opened.
                try await refused("forged sender robot2", Sealer(sender: k2.publicKey, shared: s.shared).seal(plaintext: r("report", #"{"endpoints":[]}"#)), status: 401, code: .cannotOpen,
                                  mentioning: "could not be opened", sealedReply: false)
                // The right body on the wrong path.
                try await refused("report op on /v1/leave", s.seal(.report, ReportRequest(endpoints: [], listenPort: nil)), path: "/v1/leave",
                                  mentioning: "is for 'report' but was sent to /v1/leave", sealedReply: false)

                #expect(try await StateSnapshot.take(tc) == before)
                #expect(try await tc.admin.audit(team: nil) == auditBefore, "report/leave refusals write no audit entries")

                // Still serving. 32 candidates is the limit, and host names are endpoints by design
                // (HOST:PORT, e.g. a robot's DNS name): accepted, one revision later.
                var eps = Self.endpoints(31)
                eps.append(Endpoint("robot1.example:51820")!)
                let reply = try await node1.report(endpoints: eps, listenPort: 51820)
                #expect(reply.revision == before.teams[0].revision + 1)
                let nodes = try await tc.admin.listNodes(team: "iris")
                #expect(nodes.first { $0.name == "robot1" }?.endpoints == eps)
                #expect(nodes.first { $0.name == "robot2" }?.endpoints == before.nodes.first { $0.name == "robot2" }?.endpoints)
            }
        }

        // MARK: enroll

        @Test func hostileEnrolments() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 2)
                let s = Sealer(tc, key: PrivateKey.generate())
                let before = try await StateSnapshot.take(tc)
                let auditBefore = try await tc.admin.audit(team: nil)
                var audited: [String] = []  // outcomes the refusals below log on purpose

                func refused(_ label: String, _ sealed: (bytes: [UInt8], nonce: [UInt8]), status: Int = 400, code: ErrorCode = .badRequest, mentioning: String,
                             sealedReply: Bool = true, shared: SharedKey? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    let a = try await Self.post(tc, "/v1/enroll", sealed, shared: shared ?? s.shared)
                    Self.expectRefused(a, label, status: status, code: code, mentioning: mentioning, sealed: sealedReply, sourceLocation: sourceLocation)
                }
                func body(name: String = "robot1", endpoints: String = "[]", extra: String = "") -> String {
                    Self.request("enroll", #"{"tokenID":"\#(token.id)","secret":"\#(Base64.encode(token.secret))","team":"iris","name":"\#(name)","endpoints":\#(endpoints),"listenPort":51820\#(extra)}"#)
                }

                // Unknown fields: a public key in the body is not how the key is chosen (the envelope's
                // sender key is), so it is refused rather than ignored.
                try await refused("publicKey in body", s.seal(plaintext: body(extra: #","publicKey":"\#(PrivateKey.generate().publicKey.base64Key)""#)),
                                  mentioning: "unknown field 'body.publicKey'")
                try await refused("role in body", s.seal(plaintext: body(extra: #","role":"laptop""#)), mentioning: "unknown field 'body.role'")
                try await refused("address in body", s.seal(plaintext: body(extra: #","address":"100.64.0.1""#)), mentioning: "unknown field 'body.address'")
                // Wrong types and missing fields.
                try await refused("tokenID as number", s.seal(plaintext: Self.request("enroll", #"{"tokenID":1,"secret":"","team":"iris","name":"a","endpoints":[]}"#)),
                                  mentioning: "wrong type at 'body.tokenID'")
                try await refused("malformed tokenID", s.seal(plaintext: Self.request("enroll", #"{"tokenID":"zz","secret":"","team":"iris","name":"a","endpoints":[]}"#)),
                                  mentioning: "invalid token id at 'body.tokenID'")
                try await refused("name as number", s.seal(plaintext: body().replacingOccurrences(of: #""name":"robot1""#, with: #""name":7"#)),
                                  mentioning: "wrong type at 'body.name'")
                try await refused("endpoints as object", s.seal(plaintext: body(endpoints: "{}")), mentioning: "wrong type at 'body.endpoints'")
                try await refused("missing secret", s.seal(plaintext: body().replacingOccurrences(of: #""secret":"\#(Base64.encode(token.secret))","#, with: "")),
                                  mentioning: "missing field 'secret'")
                try await refused("missing team", s.seal(plaintext: body().replacingOccurrences(of: #""team":"iris","#, with: "")), mentioning: "missing field 'team'")
                try await refused("nested 40 deep", s.seal(plaintext: body(endpoints: Self.nested(40))), mentioning: "nested too deeply")
                // Endpoints that are not HOST:PORT.
                for bad in ["robot1", "192.0.2.1:99999", "192.0.2.300:51820", "[::1:51820"] {
                    try await refused("endpoint \"\(bad)\"", s.seal(plaintext: body(endpoints: #"["\#(bad)"]"#)), mentioning: "invalid endpoint")
                }
                // The op must match the path.
                try await refused("enroll body sealed as map", s.seal(plaintext: body().replacingOccurrences(of: #""op":"enroll""#, with: #""op":"map""#)),
                                  mentioning: "is for 'map' but was sent to /v1/enroll", sealedReply: false)

                // Checked inside the enrolment transaction, once the token is proven: refused, with
                // an audit entry (by design: a refused enrolment leaves exactly its audit entry).
                for (bad, problem) in [(String(repeating: "a", count: 64), "longer than 63"), ("Robot1", "uppercase"), ("robot_1", "character \"_\""),
                                       ("robot 1", "character \" \""), ("", "is empty"), ("-robot", "starts or ends with '-'"), ("röbot", "character"),
                                       ("robot.1", "character \".\""), (String(repeating: "x", count: 5000), "longer than 63")] {
                    try await refused("name \"\(bad.prefix(20))\"", s.seal(.enroll, EnrollRequest(token: token, name: bad, endpoints: [], listenPort: 51820)),
                                      code: .invalidName, mentioning: problem)
                    audited.append(ErrorCode.invalidName.rawValue)
                }
                try await refused("1000 endpoints", s.seal(.enroll, EnrollRequest(token: token, name: "robot1", endpoints: Self.endpoints(1000), listenPort: 51820)),
                                  mentioning: "too many endpoint candidates (1000, at most 32)")
                audited.append(ErrorCode.badRequest.rawValue)

                // An invalid public key: low-order Curve25519 points give a shared key everyone can
                // compute, so a box "sealed" with one proves nothing and must not enrol anyone.
                for raw in [[UInt8](repeating: 0, count: 32), [1] + [UInt8](repeating: 0, count: 31)] {
                    let weak = try PublicKey(rawValue: raw)
                    let forged = Sealer(sender: weak, shared: SharedKey(privateKey: .generate(), publicKey: weak))
                    try await refused("low-order sender key \(weak)", forged.seal(.enroll, EnrollRequest(token: token, name: "robot9", endpoints: [], listenPort: nil)),
                                      code: .badEnvelope, mentioning: "not a valid Curve25519 public key", sealedReply: false, shared: forged.shared)
                }

                #expect(try await StateSnapshot.take(tc) == before, "no node, no token use, no revision")
                let audit = try await tc.admin.audit(team: nil)
                let added = audit.dropFirst(auditBefore.count)
                #expect(Array(audit.prefix(auditBefore.count)) == auditBefore)
                #expect(added.map(\.outcome) == audited)
                #expect(added.allSatisfy { $0.action == "node.enroll" && $0.team == "iris" && $0.actor == "token:\(token.id)" && ($0.subject ?? "").count <= 63 })

                // Still serving: the same token enrols normally and its use is counted once.
                let (node, reply) = try await tc.enroll(token, name: "robot1")
                #expect(reply.node.name == "robot1" && reply.map.revision == before.teams[0].revision + 1)
                #expect(try await tc.admin.listTokens(team: "iris").first?.uses == 1)
                #expect(try await node.map(since: 0).members?.count == 1)
            }
        }

        /// An unknown public route answers a plain JSON error too, not an empty 404.
        @Test func unknownPublicRoute() async throws {
            try await TestCoordinator.with { tc in
                for path in ["/v1/admin", "/v2/enroll", "/"] {
                    let (status, body) = try await tc.postRaw(path, [1, 2, 3])
                    #expect(status == 404, "\(path)")
                    let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(body))
                    #expect(e?.error.code == .notFound && e?.error.message.contains(path) == true, "\(path): \(String(decoding: body, as: UTF8.self))")
                }
            }
        }
    }
}
