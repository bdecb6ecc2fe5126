import Coordinator
import Foundation
import GRDB
import Testing
import TeamwireCore

extension IntegrationTests {
    /// Numbers in the coordinator's own database that it never writes (a damaged or hand-edited
    /// file): the coordinator refuses to start with an error naming the row, instead of trapping
    /// on a conversion (a negative revision into UInt64, an address past UInt32, a port past
    /// UInt16) or on address arithmetic (a /32 team at 255.255.255.255 has no hub address).
    @Suite("Damaged state")
    struct DamagedStateTests {
        @Test(arguments: [
            ("UPDATE team SET revision = -1", "corrupt team row iris"),
            ("UPDATE team SET settings_revision = -9223372036854775808", "corrupt team row iris"),
            ("UPDATE team SET prefix = '255.255.255.255/32'", "corrupt team row iris"),
            ("UPDATE team SET prefix = '0.0.0.0/0'", "corrupt team row iris"),
            ("UPDATE team SET prefix = '100.64.0.0/31'", "corrupt team row iris"),
            ("UPDATE node SET address = -1", "corrupt node row robot1"),
            ("UPDATE node SET address = 4294967296", "corrupt node row robot1"),
            ("UPDATE node SET listen_port = 65536", "corrupt node row robot1"),
            ("UPDATE node SET listen_port = -1", "corrupt node row robot1"),
            ("UPDATE node SET created_revision = -1", "corrupt node row robot1"),
            ("UPDATE node SET updated_revision = -9223372036854775808", "corrupt node row robot1"),
            ("UPDATE removal SET revision = -1", "corrupt removal row: revision -1"),
            ("UPDATE removal SET created_revision = -5", "corrupt removal row: created_revision -5"),
        ])
        func damagedNumbersAreRefusedAtStart(sql: String, says: String) async throws {
            let tc = try await TestCoordinator.start()
            try await tc.createTeam("iris", cidr: "100.64.0.0/24")
            let token = try await tc.token("iris", uses: 2)
            _ = try await tc.enroll(token, name: "robot1")
            _ = try await tc.enroll(token, name: "robot2")
            _ = try await tc.admin.removeNode(team: "iris", name: "robot2")  // a removal row
            await tc.stop()

            let db = try DatabaseQueue(path: tc.databasePath)
            try await db.write { try $0.execute(sql: sql) }
            try db.close()
            do {
                let again = try await TestCoordinator.start(dir: tc.dir)
                await again.stop()
                Issue.record("\(sql): the coordinator started on a damaged database")
            } catch {
                #expect("\(error)".contains(says), "\(sql): \(error)")
            }
        }

        /// The same database, undamaged, starts (the checks refuse only what was never written).
        @Test func anUndamagedDatabaseStarts() async throws {
            let tc = try await TestCoordinator.start()
            try await tc.createTeam("iris", cidr: "100.64.0.0/16")
            try await tc.createTeam("atlas", cidr: "100.65.0.0/30")
            let token = try await tc.token("iris", uses: 2)
            let (_, reply) = try await tc.enroll(token, name: "robot1")
            _ = try await tc.enroll(token, name: "robot2")
            _ = try await tc.admin.removeNode(team: "iris", name: "robot1")  // a removal row
            let before = try await StateSnapshot.take(tc)
            try await tc.restart().stopping { (again: TestCoordinator) async throws in
                #expect(try await StateSnapshot.take(again) == before)
                #expect(reply.node.address == IPv4Address("100.64.0.2"))
            }
        }
    }
}
