import CoordinatorClient
import Foundation
import GRDB
import Testing
import TeamwireCore
import Coordinator

extension IntegrationTests {
    @Suite("Team, token and node lifecycles")
    struct LifecycleTests {
        @Test func teamLifecycleWithDefaultsAndValidation() async throws {
            try await TestCoordinator.with { tc in
                let iris = try await tc.createTeam("iris")
                #expect(iris.prefix == IPv4Prefix("100.64.0.0/24")!)
                #expect(iris.hubAddress == IPv4Address("100.64.0.1")!)
                #expect(iris.mode == .auto)
                #expect(iris.rosDomainID == 1)
                let atlas = try await tc.createTeam("atlas", cidr: "100.64.1.0/24", mode: .relay)
                #expect(atlas.mode == .relay && atlas.rosDomainID == 2)
                // The next default /24 skips the two taken ones.
                let third = try await tc.createTeam("third")
                #expect(third.prefix == IPv4Prefix("100.64.2.0/24")!)

                #expect(await refusal { () async throws(ClientError) in try await tc.admin.createTeam(.init(name: "iris")) } == .teamExists)
                for (name, cidr, code) in [("dup", "100.64.0.128/25", ErrorCode.prefixOverlap), ("wide", "100.0.0.0/8", .invalidPrefix), ("Upper", nil, .invalidName)] {
                    #expect(await refusal { () async throws(ClientError) in try await tc.admin.createTeam(.init(name: name, prefix: cidr.flatMap(IPv4Prefix.init))) } == code)
                }
                let teams = try await tc.admin.listTeams()
                #expect(teams.map(\.name) == ["atlas", "iris", "third"])
            }
        }

        @Test func tokenLifecycle() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let created = try await tc.admin.createToken(team: "iris", CreateTokenRequest(uses: 2, expiresInSeconds: 3600, role: .laptop))
                let token = try EnrolmentToken(parsing: created.token)
                #expect(token.team == "iris" && token.coordinatorKey == tc.publicKey && token.endpoints == [tc.endpoint])
                #expect(created.info.maxUses == 2 && created.info.role == .laptop && created.info.state == "active")

                let (_, reply) = try await tc.enroll(token, name: "laptop1")
                #expect(reply.node.role == .laptop)
                var listed = try await tc.admin.listTokens(team: "iris")
                #expect(listed.count == 1 && listed[0].uses == 1 && listed[0].state == "active")
                _ = try await tc.enroll(token, name: "laptop2")
                listed = try await tc.admin.listTokens(team: "iris")
                #expect(listed[0].uses == 2 && listed[0].state == "used-up")

                let reusable = try await tc.admin.createToken(team: "iris", CreateTokenRequest(reusable: true))
                #expect(reusable.info.maxUses == nil)
                let revoked = try await tc.admin.revokeToken(id: reusable.info.id.description)
                #expect(revoked.state == "revoked" && revoked.revokedAt != nil)
                #expect(await refusal { () async throws(ClientError) in try await tc.admin.revokeToken(id: "0000000000000000") } == .tokenNotFound)
            }
        }

        @Test func nodeLifecycleAndRosMaster() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris", cidr: "100.80.0.0/24")
                let token = try await tc.token("iris", uses: 10)
                let (_, r1) = try await tc.enroll(token, name: "robot1")
                let (_, r2) = try await tc.enroll(token, name: "robot2")
                #expect(r1.node.address == IPv4Address("100.80.0.2")!)
                #expect(r2.node.address == IPv4Address("100.80.0.3")!)
                #expect(r2.map.members?.map(\.name) == ["robot1", "robot2"])
                #expect(r2.map.hub.address == IPv4Address("100.80.0.1")! && r2.map.hub.publicKey == tc.publicKey)

                let team = try await tc.admin.setRosMaster(team: "iris", name: "robot1")
                #expect(team.rosMaster == "robot1")
                var nodes = try await tc.admin.listNodes(team: "iris")
                #expect(nodes.map(\.name) == ["robot1", "robot2"])
                #expect(nodes[0].rosMaster && !nodes[1].rosMaster)
                #expect(nodes[0].lastSeen != nil)

                let removed = try await tc.admin.removeNode(team: "iris", name: "robot1")
                #expect(removed.address == r1.node.address)
                nodes = try await tc.admin.listNodes(team: "iris")
                #expect(nodes.map(\.name) == ["robot2"])
                // Removing the master clears the designation.
                #expect(try await tc.admin.listTeams()[0].rosMaster == nil)
                // The freed address is reused by the next enrolment.
                let (_, r3) = try await tc.enroll(token, name: "robot3")
                #expect(r3.node.address == r1.node.address)

                let actions = try await tc.admin.audit(team: "iris").map(\.action)
                #expect(actions == ["team.create", "token.create", "node.enroll", "node.enroll", "team.ros-master", "node.remove", "node.enroll"])
                let audit = try await tc.admin.audit(team: "iris")
                #expect(audit.first { $0.action == "node.remove" }?.actor == "admin:tester")
            }
        }

        @Test func secretsAndFilesAreProtected() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 3)
                _ = try await tc.enroll(token, name: "robot1")

                func mode(_ p: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: p)[.posixPermissions] as! NSNumber).intValue & 0o777 }
                #expect(try mode(tc.dir + "/admin.sock") == 0o600)
                #expect(try mode(tc.dir + "/coordinator.key") == 0o600)
                #expect(try mode(tc.databasePath) == 0o600)

                // Only the hash of the secret is at rest: neither the raw bytes nor any text form appear
                // in the database or its WAL.
                var stored = Data()
                for suffix in ["", "-wal"] { stored.append((try? Data(contentsOf: URL(fileURLWithPath: tc.databasePath + suffix))) ?? Data()) }
                let haystack = [UInt8](stored)
                for needle in [token.secret, Array(Base64.encode(token.secret).utf8), Array(Hex.encode(token.secret).utf8)] {
                    #expect(!contains(haystack, needle))
                }
                #expect(contains(haystack, Sodium.hash(token.secret)))
                // The audit log is append-only, enforced by the database itself.
                let db = try DatabaseQueue(path: tc.databasePath)
                #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "DELETE FROM audit") } }
                #expect(throws: DatabaseError.self) { try db.write { try $0.execute(sql: "UPDATE audit SET outcome = 'x'") } }
            }
        }

        @Test func secondCoordinatorOnSameStateIsRefused() async throws {
            try await TestCoordinator.with { tc in
                #expect(throws: CoordinatorErrorMatcher.self) {
                    do { _ = try TestCoordinator.syncConfig(tc.dir) } catch { throw CoordinatorErrorMatcher(text: "\(error)") }
                }
            }
        }
    }
}

struct CoordinatorErrorMatcher: Error { var text: String }

extension TestCoordinator {
    static func syncConfig(_ dir: String) throws -> Any {
        try Coordinator.CoordinatorServer(config: .init(stateDirectory: dir, listenHost: "127.0.0.1", listenPort: 0), logger: .init(label: "x"))
    }
}

func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    let first = needle[0]
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first, haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
        i += 1
    }
    return false
}
