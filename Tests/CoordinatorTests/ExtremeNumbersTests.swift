import AsyncHTTPClient
@testable import Coordinator
import CoordinatorClient
import Foundation
import NIOCore
import Testing
import TestSupport
import TeamwireCore

extension IntegrationTests {
    /// Issue 15, finding 1: a single request must not crash the coordinator. Anyone can seal a
    /// request to the coordinator's public key (it is in every token and in /v1/info), so these
    /// come from a fresh key that was never enrolled, with no valid token: every number of every
    /// sealed operation, the envelope's `ts` included, and every number of the admin API, set in
    /// turn to every extreme value as raw JSON text (not limited by Swift's types). Each gets a 4xx
    /// with a JSON error that says what the value ran into; afterwards the coordinator serves, a
    /// real enrolment works, and nothing else changed.
    @Suite("Extreme numbers")
    struct ExtremeNumbersTests {
        typealias Sealed = HostileSealedTests

        /// The numbers of issue 15, and the edges of every field type around them.
        static let numbers: [String] = [
            "-9223372036854775808", "-9223372036854775807", "-2147483648", "-1", "-0", "-0.0", "0", "0.5", "1", "1.0", "1E2", "1.5e3",
            "32767", "65535", "65536", "2147483647", "4294967295", "4294967296", "9007199254740993",
            "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
            "1e308", "-1e308", "1e400", "-1e400", "1e-400", "4.9e-324", "1" + String(repeating: "0", count: 399), "-" + String(repeating: "9", count: 400),
        ]
        /// Number-like text that is not JSON: refused by the parser, never reaching a field.
        static let notJSON: [String] = ["NaN", "Infinity", "-Infinity", "+1", "01", "1.", ".5", "0x10", "1e", "--1", "1_000"]
        static var values: [String] { numbers + notJSON }

        /// Whether JSON text `v` decodes as a `T` (the coordinator's decoder is the oracle: a value
        /// that fits must travel on to the handler's own checks, one that does not is refused).
        static func fits<T: Decodable>(_ v: String, _: T.Type) -> Bool {
            (try? JSONDecoder().decode([T].self, from: Data("[\(v)]".utf8))) != nil
        }

        /// Decodes from any JSON value: whether `v` is JSON at all.
        struct AnyJSON: Decodable { init(from decoder: any Decoder) {} }

        /// What the strict decoder (bodies of sealed requests, the admin API) makes of `v` in a
        /// field of type T: nil unless the number also fits a Double, as it requires (1e-400
        /// decodes as an Int 0 but is no JSON number it accepts).
        static func strictly<T: Decodable>(_ v: String, _: T.Type) -> T? {
            guard fits(v, Double.self) else { return nil }
            return try? JSONDecoder().decode([T].self, from: Data("[\(v)]".utf8)).first
        }

        /// The strict decoder's sentence for `v` where it is refused: a syntax error is not JSON,
        /// a number no Double holds is beyond any JSON number, any other has the wrong type or
        /// does not fit (`misfit`).
        static func sentence(for v: String, misfit: String) -> String {
            !fits(v, AnyJSON.self) ? "not valid JSON" : !fits(v, Double.self) ? "beyond what a JSON number can hold" : misfit
        }

        static func misfit(_ v: String) -> String { sentence(for: v, misfit: "a number does not fit its field") }
        static func wrongType(_ v: String, at field: String) -> String { sentence(for: v, misfit: "wrong type at '\(field)'") }

        /// One sealed request and what it may be answered with.
        struct Probe {
            var label: String
            var op: TeamwireCore.Operation
            var plaintext: String
            /// The only acceptable refusal: a 4xx with this code (sealed unless noted).
            var code: ErrorCode
            var sealed = true
            /// What the message must say (nil: the code's fixed sentence).
            var mentioning: String? = nil
        }

        /// Sends every probe from `s` and checks each answer: the expected 4xx, a JSON error (sealed
        /// and bound to the request, or plain), a message naming what was wrong.
        static func send(_ probes: [Probe], _ tc: TestCoordinator, _ s: Sealed.Sealer) async throws {
            for p in probes {
                let sealed = s.seal(plaintext: p.plaintext)
                let a: Sealed.Answer<Empty>
                do { a = try await Sealed.post(tc, p.op.path, sealed, shared: s.shared) } catch {
                    Issue.record("\(p.label): no JSON answer (\(error))")
                    continue
                }
                #expect((400..<500).contains(a.status), "\(p.label): HTTP \(a.status)")
                #expect(a.status == httpStatus(p.code).code, "\(p.label): HTTP \(a.status), expected \(httpStatus(p.code).code) for \(p.code)")
                #expect(a.sealed == p.sealed, "\(p.label): the refusal should \(p.sealed ? "" : "not ")be sealed")
                guard case .failure(let e) = a.result else {
                    Issue.record("\(p.label): accepted")
                    continue
                }
                #expect(e.code == p.code, "\(p.label): \(e.code) (\(e.message)), expected \(p.code)")
                #expect(!e.message.isEmpty, "\(p.label): empty message")
                if let m = p.mentioning { #expect(e.message.contains(m), "\(p.label): '\(e.message)' should mention '\(m)'") }
                if e.code == .clockSkew { #expect(e.serverTime != nil, "\(p.label): a clock_skew refusal tells the server time") }
            }
        }

        static func bogusTokenBody(tokenID: String, secret: String, team: String = #""iris""#, name: String = #""robot9""#,
                                   endpoints: String = "[]", listenPort: String = "51820") -> String {
            #"{"tokenID":\#(tokenID),"secret":\#(secret),"team":\#(team),"name":\#(name),"endpoints":\#(endpoints),"listenPort":\#(listenPort)}"#
        }

        static func quoted(_ s: String) -> String { "\"\(s)\"" }

        static func endpointList(_ n: Int) -> String {
            "[" + (0..<n).map { quoted("192.0.2.\($0 % 250 + 1):\(20000 + $0)") }.joined(separator: ",") + "]"
        }

        /// Every sealed operation, every number in it (and the strings whose lengths are numbers), every value.
        static func probes(tokenID: String, secret: String) -> [Probe] {
            var out: [Probe] = []
            let body: [TeamwireCore.Operation: String] = [
                .enroll: bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret)),
                .map: #"{"since":0,"waitSeconds":0}"#,
                .report: #"{"endpoints":[],"listenPort":51820}"#,
                .leave: "{}",
            ]
            func add(_ label: String, _ op: TeamwireCore.Operation, _ body: String, ts: String? = nil, _ code: ErrorCode, sealed: Bool = true, mentioning: String? = nil) {
                // A body that fits meets the stranger's refusal, whose sentence is fixed.
                let fixed = code == .unknownToken || code == .unknownNode
                out.append(Probe(label: label, op: op, plaintext: Sealed.request(op.rawValue, body, ts: ts), code: code, sealed: sealed, mentioning: fixed ? nil : mentioning))
            }

            for v in values {
                // Text that is not JSON makes the whole request unreadable: refused before the box's
                // contents are trusted, so the answer is plain. Everything else is judged sealed.
                let json = fits(v, AnyJSON.self)
                /// `quoted`: v is inside a JSON string here, so the request is JSON whatever v is.
                func probe(_ label: String, _ op: TeamwireCore.Operation, _ body: String, _ code: ErrorCode, quoted: Bool = false, mentioning: String? = nil) {
                    let readable = json || quoted
                    out.append(Probe(label: label, op: op, plaintext: Sealed.request(op.rawValue, body), code: readable ? code : .badRequest, sealed: readable,
                                     mentioning: readable ? (code == .badRequest ? mentioning : nil) : "not a valid request"))
                }
                // The envelope's timestamp: an Int64 is judged by the replay window (sealed, with
                // the server's time), anything else is not a request (plain: nothing is trusted yet).
                for op in TeamwireCore.Operation.allCases {
                    let ts = fits(v, Int64.self)
                    add("\(op) ts \(v.prefix(24))", op, body[op]!, ts: v, ts ? .clockSkew : .badRequest, sealed: ts,
                        mentioning: ts ? "away from the coordinator's clock" : "not a valid request")
                }
                // map: since is any UInt64 by design; waitSeconds only 0...120.
                probe("map since \(v.prefix(24))", .map, #"{"since":\#(v),"waitSeconds":0}"#, strictly(v, UInt64.self) != nil ? .unknownNode : .badRequest,
                      mentioning: misfit(v))
                let wait = strictly(v, Int.self)
                probe("map waitSeconds \(v.prefix(24))", .map, #"{"since":0,"waitSeconds":\#(v)}"#,
                      wait.map { (0...MapRequest.maxWaitSeconds).contains($0) } == true ? .unknownNode : .badRequest,
                      mentioning: wait == nil ? misfit(v) : "waitSeconds must be 0...120")
                // report: the WireGuard port, a port inside an endpoint, a number for an endpoint.
                let portFits = strictly(v, UInt16.self) != nil, endpointFits = Endpoint("192.0.2.1:\(v)") != nil
                probe("report listenPort \(v.prefix(24))", .report, #"{"endpoints":[],"listenPort":\#(v)}"#, portFits ? .unknownNode : .badRequest, mentioning: misfit(v))
                probe("report endpoint port \(v.prefix(24))", .report, #"{"endpoints":["192.0.2.1:\#(v)"],"listenPort":51820}"#, endpointFits ? .unknownNode : .badRequest, quoted: true,
                      mentioning: "invalid endpoint")
                probe("report endpoint [v6] port \(v.prefix(24))", .report, #"{"endpoints":["[2001:db8::1]:\#(v)"]}"#, endpointFits ? .unknownNode : .badRequest, quoted: true,
                      mentioning: "invalid endpoint")
                probe("report endpoint as number \(v.prefix(24))", .report, #"{"endpoints":[\#(v)],"listenPort":51820}"#, .badRequest, mentioning: wrongType(v, at: "body.endpoints.[0]"))
                // Every body as a bare number, and a number in a field no body has.
                for op in TeamwireCore.Operation.allCases {
                    probe("\(op) body \(v.prefix(24))", op, v, .badRequest, mentioning: wrongType(v, at: "body"))
                    probe("\(op) unknown numeric field \(v.prefix(24))", op, String(body[op]!.dropLast()) + (op == .leave ? "" : ",") + #""count":\#(v)}"#, .badRequest,
                          mentioning: sentence(for: v, misfit: "unknown field 'body.count'"))
                }
                // enroll: the port, a port in an endpoint, and a number for every string.
                probe("enroll listenPort \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), listenPort: v), portFits ? .unknownToken : .badRequest,
                      mentioning: misfit(v))
                probe("enroll endpoint port \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), endpoints: #"["192.0.2.1:\#(v)"]"#),
                      endpointFits ? .unknownToken : .badRequest, quoted: true, mentioning: "invalid endpoint")
                probe("enroll tokenID \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: v, secret: quoted(secret)), .badRequest, mentioning: wrongType(v, at: "body.tokenID"))
                probe("enroll tokenID \"\(v.prefix(24))\"", .enroll, bogusTokenBody(tokenID: quoted(v), secret: quoted(secret)), TokenID(v) != nil ? .unknownToken : .badRequest, quoted: true,
                      mentioning: "invalid token id at 'body.tokenID'")
                probe("enroll secret \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: v), .badRequest, mentioning: wrongType(v, at: "body.secret"))
                probe("enroll team \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), team: v), .badRequest, mentioning: wrongType(v, at: "body.team"))
                probe("enroll name \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), name: v), .badRequest, mentioning: wrongType(v, at: "body.name"))
                probe("enroll endpoints \(v.prefix(24))", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), endpoints: v), .badRequest, mentioning: wrongType(v, at: "body.endpoints"))
            }
            // Lengths: token ids, secrets, names, teams and endpoint lists of every size up to the
            // 64 KiB body limit. Only a well-formed id and a 32-byte secret reach the token lookup.
            for n in [0, 1, 15, 16, 17, 64, 1000, 60_000] {
                let id = String(repeating: "a", count: n)
                add("enroll tokenID of \(n) hex digits", .enroll, bogusTokenBody(tokenID: quoted(id), secret: quoted(secret)), n == 16 ? .unknownToken : .badRequest,
                mentioning: "invalid token id at 'body.tokenID'")
            }
            for n in [0, 1, 31, 32, 33, 64, 1000, 40_000] {
                let s = Base64.encode(Sodium.randomBytes(n))
                add("enroll secret of \(n) bytes", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(s)), n == 32 ? .unknownToken : .malformedToken,
                mentioning: "the token secret is malformed (expected 32 bytes of base64)")
            }
            for n in [0, 63, 64, 60_000] {
                let text = String(repeating: "r", count: n)
                // The token is checked before the team and the name: a stranger learns nothing about either.
                add("enroll team of \(n) characters", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), team: quoted(text)), .unknownToken)
                add("enroll name of \(n) characters", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), name: quoted(text)), .unknownToken)
            }
            for n in [0, 1, 32, 33, 1000, 2500] {
                add("report with \(n) endpoints", .report, #"{"endpoints":\#(endpointList(n)),"listenPort":51820}"#, n <= ReportRequest.maxEndpoints ? .unknownNode : .badRequest,
                mentioning: "too many endpoint candidates (\(n), at most 32)")
                add("enroll with \(n) endpoints", .enroll, bogusTokenBody(tokenID: quoted(tokenID), secret: quoted(secret), endpoints: endpointList(n)), .unknownToken)
            }
            return out
        }

        @Test func everyNumberOfEverySealedRequestFromAStranger() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 5)
                // A member, so that a stranger's requests meet a team with a map, waiters and history.
                let (member, joined) = try await tc.enroll(token, name: "robot1")
                let before = try await StateSnapshot.take(tc)
                let auditBefore = try await tc.admin.audit(team: nil)

                // A key never enrolled, and a token id and secret that are not the real token's.
                let stranger = PrivateKey.generate()
                let s = Sealed.Sealer(tc, key: stranger)
                let bogusID = TokenID.random().description, bogusSecret = Base64.encode(Sodium.randomBytes(32))
                let probes = Self.probes(tokenID: bogusID, secret: bogusSecret)
                try await Self.send(probes, tc, s)

                // The coordinator still answers, and nothing changed: no node, no token use, no revision.
                let (status, infoBody) = try await getInfo(tc)
                #expect(status == 200 && (try? JSONDecoder().decode(CoordinatorInfo.self, from: Data(infoBody)))?.publicKey == tc.publicKey)
                #expect(try await StateSnapshot.take(tc) == before)
                // Only the enrolment refusals that reached the token lookup were audited (by design), each as refused.
                let audit = try await tc.admin.audit(team: nil, limit: 100_000)
                let added = audit.dropFirst(auditBefore.count)
                #expect(Array(audit.prefix(auditBefore.count)) == auditBefore)
                let audited = probes.filter { $0.op == .enroll && ($0.code == .unknownToken || $0.code == .malformedToken) }.count
                #expect(added.count == audited, "one audit entry per enrolment refused at the token")
                #expect(added.allSatisfy { $0.action == "node.enroll" && $0.actor.hasPrefix("token:") && $0.outcome != "ok" })
                #expect(Set(added.map(\.outcome)) == [ErrorCode.unknownToken.rawValue, ErrorCode.malformedToken.rawValue])

                // The stranger is still a stranger; the member is served as before.
                let strangerClient = tc.node(token, key: stranger)
                #expect(await refusal { () async throws(ClientError) in try await strangerClient.map(since: 0) } == .unknownNode)
                #expect(try await member.map(since: 0).revision == joined.map.revision)

                // A real enrolment with the real token, from the same stranger's key, succeeds, and it
                // is the only change: one node, one revision, one use of the token.
                let (_, reply) = try await tc.enroll(token, name: "robot2", key: stranger)
                #expect(reply.node.name == "robot2" && reply.node.publicKey == stranger.publicKey && reply.map.members?.count == 2)
                var expected = before
                expected.teams[0].revision += 1
                expected.teams[0].members += 1
                expected.tokens[0].uses += 1
                let after = try await StateSnapshot.take(tc)
                #expect(after.teams == expected.teams && after.tokens == expected.tokens)
                #expect(after.nodes.count == 2 && after.nodes.first == before.nodes.first)
                #expect(after.nodes.last.map { ($0.name, $0.publicKey, $0.address) } ?? ("", stranger.publicKey, IPv4Address(0)) == ("robot2", stranger.publicKey, reply.node.address))
            }
        }

        /// One raw HTTP/1.1 request on a TCP connection to the public port, its sending side
        /// closed after the body (a Content-Length larger than the body then ends at once): the
        /// status line's code and the body, or nil when the connection closed without an answer.
        static func rawExchange(port: Int, _ head: String, body: [UInt8]) -> (status: Int, body: String)? {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(fd) }
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            addr.sin_port = UInt16(port).bigEndian
            guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else { return nil }
            let out = Array(head.utf8) + body
            _ = out.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            shutdown(fd, Int32(SHUT_WR))
            let text = String(decoding: RawSocket.readToEnd(fd), as: UTF8.self)
            let parts = text.split(separator: " ", maxSplits: 2)
            guard parts.count > 1, parts[0].hasPrefix("HTTP/1"), let status = Int(parts[1]) else { return nil }
            return (status, text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n"))
        }

        /// The HTTP layer's own number, Content-Length, at every extreme on every sealed path:
        /// always a 4xx (a length beyond the body sent was reported as a body over 64 KiB), and
        /// the coordinator goes on serving.
        @Test func extremeContentLengths() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris")
                let sealed = Sealed.Sealer(tc, key: .generate()).seal(.map, MapRequest(since: 0, waitSeconds: 0)).bytes
                for op in TeamwireCore.Operation.allCases {
                    for v in Self.values + ["", " ", "1, 2", "\(sealed.count), \(sealed.count)"] {
                        let head = "POST \(op.path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: \(Envelope.contentType)\r\nContent-Length: \(v)\r\nConnection: close\r\n\r\n"
                        let label = "\(op.path) Content-Length '\(v.prefix(24))'"
                        guard let r = Self.rawExchange(port: tc.port, head, body: sealed) else {
                            Issue.record("\(label): closed without an answer")
                            continue
                        }
                        #expect((400..<500).contains(r.status), "\(label): HTTP \(r.status) \(r.body.prefix(200))")
                        // A length HTTP reads (digits only) reaches the coordinator: a JSON error saying
                        // what the body is. Anything else is the HTTP parser's own bare 400.
                        guard v.allSatisfy(\.isASCII), v.allSatisfy(\.isNumber), let n = UInt64(v) else { continue }
                        let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(r.body.utf8)).error
                        if n < sealed.count {
                            #expect(r.status == 400 && e?.code == .badEnvelope, "\(label): \(r.body.prefix(200))")
                        } else {
                            #expect(r.status == 400 && e?.message.contains("the request body ended before its Content-Length") == true, "\(label): \(r.body.prefix(200))")
                        }
                    }
                }
                let (status, _) = try await getInfo(tc)
                #expect(status == 200)
                let (_, reply) = try await tc.enroll(token, name: "robot1")
                #expect(reply.map.members?.count == 1)
            }
        }

        func getInfo(_ tc: TestCoordinator) async throws -> (Int, [UInt8]) {
            let resp = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(tc.port)/v1/info"), timeout: .seconds(10))
            return (Int(resp.status.code), Array(buffer: try await resp.body.collect(upTo: 1 << 20)))
        }

        // MARK: the admin socket

        /// Percent-encodes all but URL-unreserved characters (a '+' would read as a space in a query).
        static func escape(_ s: String) -> String {
            s.utf8.map { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || "-._~".utf8.contains(b)
                    ? String(UnicodeScalar(b)) : String(format: "%%%02X", b)
            }.joined()
        }

        /// The admin API's numbers (team domain ids, CIDRs, token uses and expiry, audit limits,
        /// token ids and node names in paths): a 4xx JSON error, or for a value that is in range
        /// the success it stands for, and never anything else.
        @Test func everyNumberOfTheAdminAPI() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris", cidr: "100.64.8.0/24")
                let before = try await StateSnapshot.take(tc)
                let auditBefore = try await tc.admin.audit(team: nil)
                typealias Admin = HostileAdminTests
                func refused(_ method: String, _ path: String, _ body: String? = nil, status: Int = 400, code: ErrorCode, mentioning: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
                    try await Admin.expectRefused(tc, method, path, body, status: status, code: code, mentioning: mentioning, sourceLocation: sourceLocation)
                }
                let tokens = "/v1/teams/iris/tokens"
                var accepted: [Int64] = []

                for v in Self.values {
                    // ROS domain ids: checked before the name is found taken, so an id in range meets the existing team.
                    if let d = Self.strictly(v, Int.self) {
                        if TeamSettings.rosDomainIDs.contains(d) {
                            try await refused("POST", "/v1/teams", #"{"name":"iris","rosDomainID":\#(v)}"#, status: 409, code: .teamExists, mentioning: "already exists")
                        } else {
                            try await refused("POST", "/v1/teams", #"{"name":"iris","rosDomainID":\#(v)}"#, code: .invalidArgument, mentioning: "ROS domain id \(d) is outside 0...101")
                        }
                    } else {
                        try await refused("POST", "/v1/teams", #"{"name":"atlas","rosDomainID":\#(v)}"#, code: .badRequest, mentioning: Self.misfit(v))
                    }
                    // CIDRs: the prefix length and octets as text (a valid one meets the existing team), and numbers for every string.
                    for cidr in ["100.80.0.0/\(v)", "\(v).80.0.0/24", "100.80.0.\(v)/24", "\(v).0.0.0/16"] {
                        let body = #"{"name":"iris","prefix":"\#(cidr)"}"#
                        if let p = IPv4Prefix(cidr) {
                            if Registry.teamPrefixLengths.contains(p.length) {
                                try await refused("POST", "/v1/teams", body, status: 409, code: .teamExists, mentioning: "already exists")
                            } else {
                                try await refused("POST", "/v1/teams", body, code: .invalidPrefix, mentioning: "a team prefix must be /16 to /30")
                            }
                        } else {
                            try await refused("POST", "/v1/teams", body, code: .badRequest, mentioning: "invalid IPv4 prefix")
                        }
                    }
                    try await refused("POST", "/v1/teams", #"{"name":\#(v)}"#, code: .badRequest, mentioning: Self.wrongType(v, at: "name"))
                    for field in ["prefix", "mode"] {
                        try await refused("POST", "/v1/teams", #"{"name":"atlas","\#(field)":\#(v)}"#, code: .badRequest, mentioning: Self.wrongType(v, at: field))
                    }
                    // Token uses, with an expiry of 0 s behind them: every uses value is judged, and none makes a token.
                    if let u = Self.strictly(v, Int.self) {
                        let inRange = (1...CreateTokenRequest.maxUses).contains(u)
                        try await refused("POST", tokens, #"{"uses":\#(v),"expiresInSeconds":0}"#, code: .invalidArgument,
                                          mentioning: inRange ? "expiry must be between" : "uses must be 1...100000")
                    } else {
                        try await refused("POST", tokens, #"{"uses":\#(v)}"#, code: .badRequest, mentioning: Self.misfit(v))
                    }
                    // Expiry: in range, a token is made (by design) with exactly that lifetime.
                    if let e = Self.strictly(v, Int64.self) {
                        if (1...CreateTokenRequest.maxExpirySeconds).contains(e) {
                            let (s, b) = try await Admin.raw(tc, "POST", tokens, body: Array(#"{"expiresInSeconds":\#(v)}"#.utf8))
                            let created = try JSONDecoder().decode(CreatedToken.self, from: Data(b))
                            #expect(s == 200 && created.info.expiresAt - created.info.createdAt == e * 1000, "expiresInSeconds \(v)")
                            accepted.append(e)
                        } else {
                            try await refused("POST", tokens, #"{"expiresInSeconds":\#(v)}"#, code: .invalidArgument, mentioning: "expiry must be between 1 s and 366 days")
                        }
                    } else {
                        try await refused("POST", tokens, #"{"expiresInSeconds":\#(v)}"#, code: .badRequest, mentioning: Self.misfit(v))
                    }
                    for field in ["reusable", "role"] {
                        try await refused("POST", tokens, #"{"\#(field)":\#(v)}"#, code: .badRequest, mentioning: Self.wrongType(v, at: field))
                    }
                    try await refused("PUT", "/v1/teams/iris/ros-master", #"{"name":\#(v)}"#, code: .badRequest, mentioning: Self.wrongType(v, at: "name"))
                    try await refused("PUT", "/v1/teams/iris/ros-master", #"{"name":"\#(v)"}"#, status: 404, code: .nodeNotFound, mentioning: "has no node named")
                    // Numbers in paths and query strings.
                    if Int(v) != nil {
                        let (s, b) = try await Admin.raw(tc, "GET", "/v1/audit?limit=\(Self.escape(v))")
                        #expect(s == 200 && (try? JSONDecoder().decode([AuditEvent].self, from: Data(b))) != nil, "audit limit \(v): HTTP \(s)")
                    } else {
                        try await refused("GET", "/v1/audit?limit=\(Self.escape(v))", code: .invalidArgument, mentioning: "limit must be a number")
                    }
                    if TokenID(v) != nil {
                        try await refused("DELETE", "/v1/tokens/\(Self.escape(v))", status: 404, code: .tokenNotFound, mentioning: "no token with id")
                    } else {
                        try await refused("DELETE", "/v1/tokens/\(Self.escape(v))", code: .invalidArgument, mentioning: "is not a token id")
                    }
                    try await refused("DELETE", "/v1/teams/iris/nodes/\(Self.escape(v))", status: 404, code: .nodeNotFound, mentioning: "has no node named")
                }

                // Still serving; the only changes are the tokens made with an in-range expiry (and
                // their audit entries): no team, no node, no other token.
                let after = try await StateSnapshot.take(tc)
                #expect(after.teams == before.teams && after.nodes == before.nodes)
                #expect(after.tokens.count == before.tokens.count + accepted.count)
                #expect(after.tokens.map { $0.expiresAt - $0.createdAt }.sorted() == accepted.map { $0 * 1000 }.sorted())
                let audit = try await tc.admin.audit(team: nil)
                #expect(Array(audit.prefix(auditBefore.count)) == auditBefore)
                #expect(audit.dropFirst(auditBefore.count).map(\.action) == Array(repeating: "token.create", count: accepted.count))
                let atlas = try await tc.createTeam("atlas", cidr: "100.64.9.0/24")
                #expect(atlas.rosDomainID == 2)
            }
        }
    }
}
