import AsyncHTTPClient
import Coordinator
import CoordinatorClient
import Foundation
import NIOCore
import Testing
import TeamwireCore

extension IntegrationTests {
    /// Raw HTTP against the admin Unix socket: hostile bodies, paths and query strings always get
    /// a 4xx with a JSON error saying what is wrong, and change nothing (not even the audit log).
    @Suite("Hostile admin requests")
    struct HostileAdminTests {
        /// One raw request on the admin socket, addressed the way AdminClient does (`http+unix://`).
        static func raw(_ tc: TestCoordinator, _ method: String, _ path: String, body: [UInt8]? = nil) async throws -> (status: Int, body: [UInt8]) {
            let url = try #require(URL(httpURLWithSocketPath: tc.server.config.adminSocketPath, uri: path), "\(path)")
            var req = HTTPClientRequest(url: url.absoluteString)
            req.method = .init(rawValue: method)
            req.headers.add(name: "X-Teamwire-Actor", value: "hostile")
            if let body {
                req.headers.add(name: "Content-Type", value: "application/json")
                req.body = .bytes(ByteBuffer(bytes: body))
            }
            let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(10))
            return (Int(resp.status.code), Array(buffer: try await resp.body.collect(upTo: 1 << 20)))
        }

        struct World: Equatable {
            var state: StateSnapshot
            var audit: [AuditEvent]
        }

        static func world(_ tc: TestCoordinator) async throws -> World {
            World(state: try await StateSnapshot.take(tc), audit: try await tc.admin.audit(team: nil))
        }

        /// Sends one hostile request and checks the refusal: status, JSON `ErrorBody`, code, message.
        static func expectRefused(
            _ tc: TestCoordinator, _ method: String, _ path: String, _ body: String? = nil, bytes: [UInt8]? = nil,
            status: Int = 400, code: ErrorCode, mentioning: String, sourceLocation: SourceLocation = #_sourceLocation
        ) async throws {
            let label = "\(method) \(path) \(body.map { String($0.prefix(60)) } ?? bytes.map { "<\($0.count) bytes>" } ?? "")"
            let (s, b) = try await raw(tc, method, path, body: bytes ?? body.map { Array($0.utf8) })
            #expect(s == status, "\(label): HTTP \(s), expected \(status)", sourceLocation: sourceLocation)
            guard let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(b)) else {
                Issue.record("\(label): not a JSON error body: '\(String(decoding: b.prefix(200), as: UTF8.self))'", sourceLocation: sourceLocation)
                return
            }
            #expect(e.error.code == code, "\(label): code \(e.error.code), expected \(code) (\(e.error.message))", sourceLocation: sourceLocation)
            #expect(e.error.message.contains(mentioning), "\(label): message '\(e.error.message)' should mention '\(mentioning)'", sourceLocation: sourceLocation)
        }

        static func json<T: Encodable>(_ v: T) -> String { String(decoding: ControlCodec.encodeJSON(v), as: UTF8.self) }

        @Test func hostileTeamCreation() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris", cidr: "100.64.8.0/24")
                let before = try await Self.world(tc)
                func refused(_ body: String? = nil, bytes: [UInt8]? = nil, status: Int = 400, code: ErrorCode = .badRequest, mentioning: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    try await Self.expectRefused(tc, "POST", "/v1/teams", body, bytes: bytes, status: status, code: code, mentioning: mentioning, sourceLocation: sourceLocation)
                }

                // Malformed JSON, unknown fields, wrong types, missing fields.
                // (Foundation's parser tolerates a trailing comma, `{"name":"atlas",}`: not tested as hostile.)
                for bad in ["{", "", "nul", "\u{FF}\u{FE}", #"{"name":"atlas"}{"#, #"{"name":'atlas'}"#, #"{name:"atlas"}"#] {
                    try await refused(bad, mentioning: "not valid JSON")
                }
                try await refused(#"{"name":"atlas","color":"red"}"#, mentioning: "unknown field 'color'")
                try await refused(#"{"name":"atlas","owner":{"uid":0}}"#, mentioning: "unknown field 'owner'")
                try await refused(#"{"name":7}"#, mentioning: "wrong type at 'name'")
                try await refused(#"{"name":"atlas","rosDomainID":"7"}"#, mentioning: "wrong type at 'rosDomainID'")
                try await refused(#"{"name":"atlas","rosDomainID":1.5}"#, mentioning: "a number does not fit its field")
                try await refused(#"{"name":"atlas","mode":"mesh"}"#, mentioning: "mode")
                try await refused(#"{"name":"atlas","prefix":24}"#, mentioning: "wrong type at 'prefix'")
                try await refused(#"["atlas"]"#, mentioning: "wrong type")
                try await refused("{}", mentioning: "missing field 'name'")
                try await refused(#"{"name":"atlas","x":\#(String(repeating: "[", count: 40) + String(repeating: "]", count: 40))}"#, mentioning: "nested too deeply")
                // Over 64 KiB.
                try await refused(bytes: Array(#"{"name":"atlas","pad":""#.utf8) + [UInt8](repeating: 0x61, count: 64 * 1024) + Array(#""}"#.utf8),
                                  status: 413, code: .bodyTooLarge, mentioning: "larger than 65536 bytes")
                // Names that break DNS label rules.
                for (name, problem) in [("", "is empty"), (String(repeating: "a", count: 64), "longer than 63"), ("Iris2", "uppercase"), ("iris_2", "character \"_\""),
                                        ("iris 2", "character \" \""), ("-iris", "starts or ends with '-'"), ("iris-", "starts or ends with '-'"),
                                        ("ïris", "character"), ("iris.lab", "character \".\""), ("iris\u{0}", "character"), ("../etc", "character")] {
                    try await refused(Self.json(CreateTeamRequest(name: name)), code: .invalidName, mentioning: problem)
                }
                // Bad prefixes: host bits set, not a prefix, too wide or too narrow, overlapping iris.
                for bad in ["100.64.9.1/24", "100.64.9.0", "100.64.9.0/33", "100.64.9.0/024", "banana", "100.64.9.0/-1", "256.64.9.0/24", "/24"] {
                    try await refused(#"{"name":"atlas","prefix":"\#(bad)"}"#, mentioning: "invalid IPv4 prefix")
                }
                for bad in ["100.0.0.0/8", "0.0.0.0/0", "100.64.9.0/31", "100.64.9.4/32"] {
                    try await refused(#"{"name":"atlas","prefix":"\#(bad)"}"#, code: .invalidPrefix, mentioning: "a team prefix must be /16 to")
                }
                for overlap in ["100.64.0.0/16", "100.64.8.128/25", "100.64.8.0/24"] {
                    try await refused(#"{"name":"atlas","prefix":"\#(overlap)"}"#, status: 409, code: .prefixOverlap, mentioning: "overlaps team 'iris' (100.64.8.0/24)")
                }
                for domain in [-1, 102, Int.max] {
                    try await refused(#"{"name":"atlas","rosDomainID":\#(domain)}"#, code: .invalidArgument, mentioning: "ROS domain id")
                }
                try await refused(#"{"name":"iris"}"#, status: 409, code: .teamExists, mentioning: "already exists")

                #expect(try await Self.world(tc) == before)
                // Still serving.
                let atlas = try await tc.createTeam("atlas", cidr: "100.64.9.0/24")
                #expect(atlas.prefix.description == "100.64.9.0/24")
            }
        }

        @Test func hostileTokensNodesAndAudit() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 3)
                _ = try await tc.enroll(token, name: "robot1")
                let before = try await Self.world(tc)
                func refused(_ method: String, _ path: String, _ body: String? = nil, status: Int = 400, code: ErrorCode = .invalidArgument, mentioning: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    try await Self.expectRefused(tc, method, path, body, status: status, code: code, mentioning: mentioning, sourceLocation: sourceLocation)
                }
                let tokens = "/v1/teams/iris/tokens"

                // Token creation: uses, expiry, role, shape.
                for uses in ["0", "-1", "100001", String(Int.min)] {
                    try await refused("POST", tokens, #"{"uses":\#(uses)}"#, mentioning: "uses must be 1...100000")
                }
                try await refused("POST", tokens, #"{"uses":3,"reusable":true}"#, mentioning: "not both")
                for expires in ["-5", "0", String(Int64.max), String(Int64.min), String(CreateTokenRequest.maxExpirySeconds + 1)] {
                    try await refused("POST", tokens, #"{"expiresInSeconds":\#(expires)}"#, mentioning: "expiry must be between 1 s and 366 days")
                }
                for expires in ["1e30", "9223372036854775808", "0.5"] {
                    try await refused("POST", tokens, #"{"expiresInSeconds":\#(expires)}"#, code: .badRequest, mentioning: "a number does not fit its field")
                }
                try await refused("POST", tokens, #"{"expiresInSeconds":"1d"}"#, code: .badRequest, mentioning: "wrong type at 'expiresInSeconds'")
                for role in [#""admin""#, #""ROBOT""#, #""""#, "1"] {
                    try await refused("POST", tokens, #"{"role":\#(role)}"#, code: .badRequest, mentioning: "role")
                }
                try await refused("POST", tokens, #"{"uses":1,"team":"atlas"}"#, code: .badRequest, mentioning: "unknown field 'team'")
                try await refused("POST", tokens, #"{"uses":"1"}"#, code: .badRequest, mentioning: "wrong type at 'uses'")
                try await refused("POST", tokens, "uses=1", code: .badRequest, mentioning: "not valid JSON")
                try await refused("POST", "/v1/teams/atlas/tokens", "{}", status: 404, code: .teamNotFound, mentioning: "no team named 'atlas'")
                try await refused("POST", "/v1/teams/IRIS/tokens", "{}", status: 404, code: .teamNotFound, mentioning: "no team named 'IRIS'")
                try await refused("GET", "/v1/teams/atlas/tokens", status: 404, code: .teamNotFound, mentioning: "atlas")

                // Revoking: malformed ids, then a well-formed unknown one.
                for bad in ["xyz", "0123456789abcdef0", "zzzzzzzzzzzzzzzz", "0123456789abcde", "%20123456789abcdef", "0x23456789abcdef"] {
                    try await refused("DELETE", "/v1/tokens/\(bad)", mentioning: "is not a token id (16 hex digits)")
                }
                try await refused("DELETE", "/v1/tokens/0123456789abcdef", status: 404, code: .tokenNotFound, mentioning: "no token with id 0123456789abcdef")

                // Node removal and ROS master of unknown nodes and teams.
                try await refused("DELETE", "/v1/teams/iris/nodes/ghost", status: 404, code: .nodeNotFound, mentioning: "no node named 'ghost'")
                try await refused("DELETE", "/v1/teams/iris/nodes/ROBOT1", status: 404, code: .nodeNotFound, mentioning: "'ROBOT1'")
                try await refused("DELETE", "/v1/teams/atlas/nodes/robot1", status: 404, code: .teamNotFound, mentioning: "no team named 'atlas'")
                try await refused("PUT", "/v1/teams/iris/ros-master", #"{"name":"ghost"}"#, status: 404, code: .nodeNotFound, mentioning: "no node named 'ghost'")
                try await refused("PUT", "/v1/teams/iris/ros-master", #"{"node":"robot1"}"#, code: .badRequest, mentioning: "missing field 'name'")
                try await refused("PUT", "/v1/teams/iris/ros-master", #"{"name":"robot1","team":"atlas"}"#, code: .badRequest, mentioning: "unknown field 'team'")
                try await refused("PUT", "/v1/teams/iris/ros-master", "robot1", code: .badRequest, mentioning: "not valid JSON")
                try await refused("GET", "/v1/nodes?team=atlas", status: 404, code: .teamNotFound, mentioning: "atlas")

                // Query strings.
                for limit in ["abc", "", "1.5", "99999999999999999999", "0x10"] {
                    try await refused("GET", "/v1/audit?limit=\(limit)", mentioning: "limit must be a number")
                }

                // Unknown routes and methods.
                for (method, path) in [("GET", "/v1/nope"), ("GET", "/"), ("GET", "/v2/teams"), ("POST", "/v1/info"), ("DELETE", "/v1/teams"),
                                       ("PATCH", "/v1/teams"), ("PUT", "/v1/teams/iris/tokens"), ("GET", "/v1/tokens/0123456789abcdef"),
                                       ("DELETE", "/v1/teams/iris"), ("GET", "/v1/teams/iris/nodes/robot1/extra")] {
                    try await refused(method, path, status: 404, code: .notFound, mentioning: "\(method) \(path.split(separator: "?")[0])")
                }

                #expect(try await Self.world(tc) == before, "refusals change nothing, audit included")

                // Accepted by design: a negative or zero audit limit is clamped to 1 (not refused),
                // and /v1/nodes takes no limit, so an unknown query parameter is ignored.
                for limit in ["-5", "0", String(Int.min)] {
                    let (s, b) = try await Self.raw(tc, "GET", "/v1/audit?limit=\(limit)")
                    let events = try JSONDecoder().decode([AuditEvent].self, from: Data(b))
                    #expect(s == 200 && events == [before.audit.last!], "limit=\(limit)")
                }
                let (s, b) = try await Self.raw(tc, "GET", "/v1/nodes?limit=abc")
                let listed = try JSONDecoder().decode([NodeInfo].self, from: Data(b))
                #expect(s == 200 && listed.map(\.name) == ["robot1"])

                // Still serving: a token is created, one revoked, and the node removed.
                let created = try await tc.admin.createToken(team: "iris", CreateTokenRequest(uses: 2, expiresInSeconds: CreateTokenRequest.maxExpirySeconds))
                #expect(created.info.maxUses == 2)
                #expect(try await tc.admin.revokeToken(id: created.info.id.description.uppercased()).revokedAt != nil)
                #expect(try await tc.admin.removeNode(team: "iris", name: "robot1").name == "robot1")
                #expect(try await tc.admin.listNodes(team: nil).isEmpty)
            }
        }
    }
}
