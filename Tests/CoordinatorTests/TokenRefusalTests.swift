import CoordinatorClient
import Foundation
import Testing
import TeamwireCore
import Coordinator

extension IntegrationTests {
    /// Every way a token is refused: a distinct code and message, and no trace but an audit entry.
    @Suite("Token refusals")
    struct TokenRefusalTests {
        struct Snapshot: Equatable {
            var teams: [TeamInfo]
            var nodes: [NodeInfo]
            var tokens: [TokenInfo]
        }

        func snapshot(_ tc: TestCoordinator) async throws -> Snapshot {
            var tokens: [TokenInfo] = []
            for t in try await tc.admin.listTeams() { tokens += try await tc.admin.listTokens(team: t.name) }
            var nodes = try await tc.admin.listNodes(team: nil)
            for i in nodes.indices { nodes[i].lastSeen = nil }
            return Snapshot(teams: try await tc.admin.listTeams(), nodes: nodes, tokens: tokens.map { var t = $0; t.state = ""; return t })
        }

        func expectRefused(_ tc: TestCoordinator, _ token: EnrolmentToken, name: String = "robot9", code: ErrorCode, mentioning: String) async throws {
            let before = try await snapshot(tc)
            let auditBefore = try await tc.admin.audit(team: nil).count
            let node = tc.node(token)
            let result = await refusalError { () async throws(ClientError) in try await node.enroll(token: token, name: name) }
            guard case .refused(let api)? = result else { Issue.record("expected a sealed refusal \(code), got \(String(describing: result))"); return }
            #expect(api.code == code)
            #expect(api.message.contains(mentioning), "message '\(api.message)' should mention '\(mentioning)'")
            #expect(try await snapshot(tc) == before)
            let audit = try await tc.admin.audit(team: nil)
            #expect(audit.count == auditBefore + 1)
            #expect(audit.last?.action == "node.enroll" && audit.last?.outcome == code.rawValue)
        }

        @Test func everyRefusal() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                try await tc.createTeam("atlas")
                let good = try await tc.token("iris", uses: 1)

                // Unknown id, and a known id with the wrong secret, look the same (no oracle).
                var unknown = good
                unknown.id = TokenID.random()
                try await expectRefused(tc, unknown, code: .unknownToken, mentioning: "no such token")
                var wrongSecret = good
                wrongSecret.secret = Sodium.randomBytes(32)
                try await expectRefused(tc, wrongSecret, code: .unknownToken, mentioning: "no such token")

                // A token of team iris presented for team atlas.
                var wrongTeam = good
                wrongTeam.team = "atlas"
                try await expectRefused(tc, wrongTeam, code: .wrongTeam, mentioning: "atlas")

                // Used up.
                _ = try await tc.enroll(good, name: "robot1")
                try await expectRefused(tc, good, code: .tokenUsedUp, mentioning: "used 1 of 1")

                // Revoked.
                let revokable = try await tc.admin.createToken(team: "iris", CreateTokenRequest(uses: 5))
                _ = try await tc.admin.revokeToken(id: revokable.info.id.description)
                try await expectRefused(tc, try EnrolmentToken(parsing: revokable.token), code: .tokenRevoked, mentioning: "revoked")

                // Expired.
                let short = try await tc.token("iris", uses: 5, expires: 1)
                try await Task.sleep(for: .milliseconds(1100))
                try await expectRefused(tc, short, code: .tokenExpired, mentioning: "expired")

                // Malformed secret inside an otherwise valid sealed request.
                let fresh = try await tc.token("iris", uses: 5)
                let key = PrivateKey.generate()
                let before = try await snapshot(tc)
                let sealed = ControlCodec.sealRequest(.enroll, EnrollRequest(tokenID: fresh.id, secret: "not base64!", team: "iris", name: "x", endpoints: [], listenPort: nil),
                                                      senderKey: key.publicKey, sharedKey: SharedKey(privateKey: key, publicKey: tc.publicKey), nowMillis: Registry.wallClockMillis())
                let (status, body) = try await tc.postRaw("/v1/enroll", sealed.bytes)
                #expect(status == 400)
                let r = try ControlCodec.openReply(body, as: Empty.self, sharedKey: SharedKey(privateKey: key, publicKey: tc.publicKey), requestNonce: sealed.nonce)
                #expect(r.failureCode == .malformedToken)
                #expect(try await snapshot(tc) == before)
            }
        }

        @Test func malformedTokenTextIsRefusedBeforeAnythingIsSent() throws {
            for bad in ["", "hello", "twt1-", "twt1-@@@@", "twt2-AAAA", "twt1-" + String(repeating: "A", count: 200)] {
                #expect(throws: APIError.self) { try EnrolmentToken(parsing: bad) }
            }
        }
    }
}

extension Result {
    var failureCode: ErrorCode? {
        if case .failure(let e) = self, let api = e as? APIError { return api.code }
        return nil
    }
}
