import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore

extension IntegrationTests {
    /// Issue 15, finding 5: the coordinator commits an enrolment and its answer never arrives
    /// (it died, or the network dropped the reply). The node must be able to finish its join with
    /// the same key, even on a one-use token, and nothing may be left orphaned.
    @Suite("Lost answers")
    struct LostReplyTests {
        @Test func anAnswerLostAfterTheCommitIsAnUnknownOutcomeAndTheSameKeyFinishesTheJoin() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 1)
                let proxy = try await MITMProxy(upstream: tc.port)
                try await proxy.stopping { _ in
                    var viaProxy = token
                    viaProxy.endpoints = [Endpoint("127.0.0.1:\(proxy.port)")!]

                    let key = PrivateKey.generate()
                    proxy.stalling.value = true
                    let lost = await refusalError { () async throws(ClientError) in
                        try await NodeClient(token: viaProxy, privateKey: key).enroll(token: viaProxy, name: "robot1", timeout: .seconds(1))
                    }
                    proxy.stalling.value = false
                    guard case .noReply(let why)? = lost else { Issue.record("expected an unknown outcome, got \(String(describing: lost))"); return }
                    #expect(why == "the coordinator at 127.0.0.1:\(proxy.port) did not answer within 1 s", "\(why)")
                    #expect(lost?.description == "the coordinator at 127.0.0.1:\(proxy.port) did not answer within 1 s (it may have carried out the request)")
                    #expect(lost?.isTransport == true)
                    // The coordinator did enrol it, and spent the token's one use.
                    let enrolled = try await tc.admin.listNodes(team: "iris")
                    #expect(enrolled.map(\.name) == ["robot1"])
                    #expect(try await tc.admin.listTokens(team: "iris")[0].uses == 1)

                    // The same key asks again with the same token: accepted, same address, no second use.
                    let again = try await NodeClient(token: token, privateKey: key).enroll(token: token, name: "robot1")
                    #expect(again.node.publicKey == key.publicKey)
                    #expect(again.node.address == enrolled[0].address)
                    #expect(try await tc.admin.listTokens(team: "iris")[0].uses == 1)
                    #expect(try await tc.admin.listNodes(team: "iris").count == 1)
                    let audit = try await tc.admin.audit(team: "iris")
                    #expect(audit.last?.detail?.contains("same token (no use spent)") == true, "\(String(describing: audit.last))")

                    // Anyone else is still held to the token's limit.
                    let other = await refusalError { () async throws(ClientError) in try await tc.node(token).enroll(token: token, name: "robot2") }
                    #expect(other?.code == .tokenUsedUp)
                    // And the used-up token does not let the enrolled key change teams or steal a name.
                    try await tc.createTeam("atlas")
                    let atlas = try await tc.token("atlas", uses: 1)
                    _ = try await tc.enroll(atlas, name: "robot1")
                    let wrongTeam = await refusalError { () async throws(ClientError) in
                        try await NodeClient(token: atlas, privateKey: key).enroll(token: atlas, name: "robot1")
                    }
                    #expect(wrongTeam?.code == .tokenUsedUp)
                }
            }
        }

        @Test func aRevokedTokenStaysRevokedForARetry() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 1)
                let key = PrivateKey.generate()
                _ = try await tc.enroll(token, name: "robot1", key: key)
                _ = try await tc.admin.revokeToken(id: token.id.description)
                let e = await refusalError { () async throws(ClientError) in try await NodeClient(token: token, privateKey: key).enroll(token: token, name: "robot1") }
                #expect(e?.code == .tokenRevoked)
            }
        }

        @Test func nothingListeningIsUnreachableNotAnUnknownOutcome() async throws {
            let tc = try await TestCoordinator.start()
            try await tc.createTeam("iris")
            let token = try await tc.token("iris")
            await tc.stop()
            let e = await refusalError { () async throws(ClientError) in try await tc.node(token).enroll(token: token, name: "robot1", timeout: .seconds(2)) }
            guard case .unreachable(let why)? = e else { Issue.record("expected unreachable, got \(String(describing: e))"); return }
            #expect(why == "cannot reach the coordinator at 127.0.0.1:\(tc.port): connection refused")
            #expect(e?.isTransport == true)
        }
    }
}
