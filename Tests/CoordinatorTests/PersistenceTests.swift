import Coordinator
import CoordinatorClient
import Foundation
import GRDB
import Testing
import TeamwireCore

extension IntegrationTests {
    @Suite("Persistence")
    struct PersistenceTests {
        @Test func restartKeepsEverything() async throws {
            let first = try await TestCoordinator.start(port: freePort())
            var tc = first
            try await tc.createTeam("iris", cidr: "100.80.0.0/24")
            let token = try await tc.token("iris", uses: 10)
            let k1 = PrivateKey.generate()
            let (n1, r1) = try await tc.enroll(token, name: "r1", key: k1)
            _ = try await tc.enroll(token, name: "r2")
            _ = try await tc.enroll(token, name: "r3")
            _ = try await tc.admin.setRosMaster(team: "iris", name: "r1")
            _ = try await tc.admin.removeNode(team: "iris", name: "r2")
            let before = (teams: try await tc.admin.listTeams(), nodes: try await tc.admin.listNodes(team: nil).map { var n = $0; n.lastSeen = nil; return n },
                          tokens: try await tc.admin.listTokens(team: "iris"), audit: try await tc.admin.audit(team: nil))
            let key = tc.publicKey
            let revision = before.teams[0].revision

            try await first.restart().stopping { restarted in
                tc = restarted
                #expect(tc.publicKey == key)
                #expect(try await tc.admin.listTeams() == before.teams)
                #expect(try await tc.admin.listNodes(team: nil).map { var n = $0; n.lastSeen = nil; return n } == before.nodes)
                #expect(try await tc.admin.listTokens(team: "iris") == before.tokens)
                #expect(try await tc.admin.audit(team: nil) == before.audit)

                // A node that was at an older revision gets a correct delta from the reloaded history.
                let delta = try await n1.map(since: r1.map.revision)
                #expect(!delta.full && delta.revision == revision)
                #expect(delta.added.map(\.name) == ["r3"] && delta.removed.isEmpty)  // r2 came and went after r1's revision
                #expect(delta.team.rosMaster == "r1")
                // The same token keeps working (the pinned key survived), the re-enrolling key keeps its
                // address, and the address freed by r2 is reused rather than duplicated.
                let again = try await tc.node(token, key: k1).enroll(token: token, name: "r1")
                #expect(again.node.address == r1.node.address)
                let (_, r4) = try await tc.enroll(token, name: "r4")
                #expect(r4.node.address == IPv4Address("100.80.0.3")!)
                let addresses = try await tc.admin.listNodes(team: "iris").map(\.address)
                #expect(Set(addresses).count == addresses.count)
            }
        }

        /// kill -9 of the real coordinator binary in the middle of an enrolment storm: every
        /// enrolment that was acknowledged is there after restart, with the address it was given,
        /// and no address is held twice.
        @Test func killNineDuringEnrolmentStormLosesNothingAcknowledged() async throws {
            let dir = makeTempDir()
            let port = freePort()
            var proc = try CoordinatorProcess(dir: dir, port: port)
            defer { proc.terminate() }
            try await proc.waitReady()
            let admin = AdminClient(socketPath: dir + "/admin.sock", actor: "tester")
            _ = try await admin.createTeam(CreateTeamRequest(name: "storm", prefix: IPv4Prefix("100.100.0.0/22")))
            let token = try EnrolmentToken(parsing: try await admin.createToken(team: "storm", CreateTokenRequest(reusable: true)).token)

            let acknowledged = Locked<[String: IPv4Address]>([:])
            let storm = Task {
                await withTaskGroup(of: Void.self) { group in
                    for i in 0..<600 {
                        group.addTask {
                            let n = NodeClient(token: token, privateKey: .generate())
                            if let r = try? await n.enroll(token: token, name: "s\(i)") {
                                acknowledged.mutate { $0[r.node.name] = r.node.address }
                            }
                        }
                    }
                }
            }
            // Let some enrolments land, then kill the coordinator mid-storm.
            for _ in 0..<1000 where acknowledged.value.count < 60 { try await Task.sleep(for: .milliseconds(5)) }
            proc.kill9()
            // Requests still queued would retry until their deadline: nothing more can be acknowledged.
            storm.cancel()
            await storm.value
            let acked = acknowledged.value
            #expect(acked.count >= 60 && acked.count < 600, "the kill should land mid-storm (acknowledged \(acked.count))")

            proc = try CoordinatorProcess(dir: dir, port: port)
            try await proc.waitReady()
            let nodes = try await admin.listNodes(team: "storm")
            let stored = Dictionary(uniqueKeysWithValues: nodes.map { ($0.name, $0.address) })
            for (name, address) in acked {
                #expect(stored[name] == address, "acknowledged enrolment \(name) at \(address) was lost or moved")
            }
            #expect(Set(nodes.map(\.address)).count == nodes.count, "duplicate addresses after crash")
            let db = try DatabaseQueue(path: dir + "/coordinator.db")
            let (integrity, revision, uses) = try await db.read { db in
                (try String.fetchOne(db, sql: "PRAGMA integrity_check")!, try Int.fetchOne(db, sql: "SELECT revision FROM team")!, try Int.fetchOne(db, sql: "SELECT uses FROM token")!)
            }
            #expect(integrity == "ok")
            // Every committed enrolment bumped the revision and the token's uses in the same transaction.
            #expect(revision == 1 + nodes.count && uses == nodes.count)
            // The restarted coordinator keeps allocating without clashes.
            let more = try await NodeClient(token: token, privateKey: .generate()).enroll(token: token, name: "after")
            #expect(!nodes.map(\.address).contains(more.node.address))
        }
    }
}
