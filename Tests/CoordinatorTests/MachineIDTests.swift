import Coordinator
import CoordinatorClient
import Foundation
import GRDB
import Testing
import TeamwireCore

extension IntegrationTests {
    /// The machine id hash (`MachineID`) through the real coordinator: SQLite, sealed HTTP.
    @Suite("MachineID")
    struct MachineIDTests {
        static let a = MachineID.hash(fileText: "0123456789abcdef0123456789abcdef\n")!
        static let b = MachineID.hash(fileText: "fedcba9876543210fedcba9876543210\n")!

        func enroll(_ tc: TestCoordinator, _ token: EnrolmentToken, _ name: String, machineID: String?,
                    key: PrivateKey = .generate()) async throws(ClientError) -> (NodeClient, EnrollReply) {
            let n = tc.node(token, key: key)
            return (n, try await n.enroll(token: token, name: name, endpoints: [Endpoint("192.0.2.10:51820")!], listenPort: 51820, machineID: machineID))
        }

        /// Wrong lengths, non-hex and uppercase are refused at enrolment and in reports with one
        /// sentence, and change nothing; a good hash reaches the other members and survives a restart.
        @Test func hostileHashesAreRefusedGoodOnesReachTheTeam() async throws {
            let first = try await TestCoordinator.start(port: freePort())
            try await first.createTeam("iris", cidr: "100.64.0.0/24")
            let token = try await first.token("iris", uses: 10)
            let hostile = ["", "abc", String(repeating: "0", count: 31), String(repeating: "0", count: 33), String(repeating: "z", count: 32),
                           Self.a.uppercased(), String(repeating: "a", count: 10_000), "0123456789abcdef0123456789abcde\u{e9}", "../../../../etc/passwd0123456789ab"]
            for h in hostile {
                let e = await refusalError { () async throws(ClientError) in try await enroll(first, token, "robot1", machineID: h) }
                guard case .refused(let api)? = e else { Issue.record("enrolment with machine id \(h.prefix(40)) was not refused: \(String(describing: e))"); continue }
                #expect(api.code == .badRequest && api.message.hasPrefix("the machine id hash must be"), "\(api)")
                #expect(api.message.count < 100, "the refusal echoes the input: \(api.message)")
            }
            #expect(try await first.admin.listNodes(team: "iris").isEmpty)

            let (n1, r1) = try await enroll(first, token, "robot1", machineID: Self.a)
            #expect(r1.node.machineID == Self.a)
            let (n2, r2) = try await enroll(first, token, "robot2", machineID: Self.a)
            #expect(r2.map.members?.first { $0.name == "robot1" }?.machineID == Self.a)
            // An agent from before the machine id (no field) enrols as before.
            let (_, r3) = try await enroll(first, token, "robot3", machineID: nil)
            #expect(r3.node.machineID == nil)

            for h in hostile {
                let code = await refusal { () async throws(ClientError) in try await n2.report(endpoints: [], listenPort: 51820, machineID: h) }
                #expect(code == .badRequest, "report with \(h.prefix(40))")
            }
            #expect(try await first.admin.listNodes(team: "iris").first { $0.name == "robot2" }?.machineID == Self.a)

            // robot2 gets a fresh id: robot1 sees it in the next delta.
            _ = try await n2.report(endpoints: [Endpoint("192.0.2.12:51820")!], listenPort: 51820, machineID: Self.b)
            let delta = try await n1.map(since: r2.map.revision)
            #expect(delta.updated.first { $0.name == "robot2" }?.machineID == Self.b || delta.members?.first { $0.name == "robot2" }?.machineID == Self.b)
            // A report without the field (an older agent) keeps what is on record.
            _ = try await n2.report(endpoints: [Endpoint("192.0.2.12:51820")!], listenPort: 51820, machineID: nil)
            #expect(try await first.admin.listNodes(team: "iris").first { $0.name == "robot2" }?.machineID == Self.b)

            try await first.restart().stopping { restarted in
                let nodes = try await restarted.admin.listNodes(team: "iris")
                #expect(nodes.first { $0.name == "robot1" }?.machineID == Self.a)
                #expect(nodes.first { $0.name == "robot2" }?.machineID == Self.b)
                #expect(nodes.first { $0.name == "robot3" }?.machineID == nil)
                #expect(try await n1.map(since: 0).members?.first { $0.name == "robot2" }?.machineID == Self.b)
            }
        }

        /// A database written before the machine id (no column, no migration recorded) loads:
        /// the migration adds the column and every member has none until its agent reports one.
        @Test func aDatabaseFromBeforeTheMachineIDLoads() async throws {
            let tc = try await TestCoordinator.start()
            try await tc.createTeam("iris", cidr: "100.64.0.0/24")
            let token = try await tc.token("iris", uses: 2)
            let key = PrivateKey.generate()
            _ = try await enroll(tc, token, "robot1", machineID: Self.a, key: key)
            await tc.stop()
            let db = try DatabaseQueue(path: tc.databasePath)
            try await db.write { db in
                try db.execute(sql: "ALTER TABLE node DROP COLUMN machine_id")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'node-machine-id'")
            }
            try db.close()

            try await TestCoordinator.with(dir: tc.dir) { again in
                let nodes = try await again.admin.listNodes(team: "iris")
                #expect(nodes.map(\.name) == ["robot1"] && nodes[0].machineID == nil)
                _ = try await NodeClient(coordinatorKey: again.publicKey, endpoints: [again.endpoint], privateKey: key)
                    .report(endpoints: [], listenPort: 51820, machineID: Self.a)
                #expect(try await again.admin.listNodes(team: "iris")[0].machineID == Self.a)
            }
        }
    }
}
