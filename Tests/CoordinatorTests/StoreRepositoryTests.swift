@testable import Coordinator
import Foundation
import Synchronization
import Testing
import TeamwireCore

/// The SQLite repository on a real database file in a temp directory: what each write records
/// and publishes, what a rollback or a refusal leaves, and what start-up reads back.
@Suite struct StoreRepositoryTests {
    /// A fresh store, removed with its directory after `body`.
    func withStore(_ body: (Store) async throws -> Void) async throws {
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await body(try Store(path: dir + "/coordinator.db"))
    }

    /// Every batch `published` received, in order.
    final class Published: Sendable {
        let batches = Mutex<[[TeamChange]]>([])
        var hook: @Sendable ([TeamChange]) -> Void { { c in self.batches.withLock { $0.append(c) } } }
        var all: [[TeamChange]] { batches.withLock { $0 } }
    }

    static let settings = TeamSettings(name: "iris", prefix: IPv4Prefix("100.64.0.0/24")!, mode: .auto, rosDomainID: 4, rmwImplementation: "rmw_cyclonedds_cpp")
    static let robot = Member(name: "robot1", publicKey: testKey(1), address: IPv4Address("100.64.0.2")!, role: .robot,
                              endpoints: [Endpoint("198.51.100.1:51820")!], observedEndpoint: Endpoint("203.0.113.1:4000"),
                              machineID: String(repeating: "ab", count: MachineID.hashLength / 2))
    static let token = TokenID.random()

    /// Team iris (id 1) with robot1 enrolled at revision 2.
    func seed(_ store: Store, _ published: Published) async throws {
        _ = try await store.write({ tx in try tx.createTeam(Self.settings, now: 1000) }, published: published.hook)
        _ = try await store.write({ tx in
            let rev = try tx.bumpRevision(team: 1)
            return try tx.addNode(team: 1, Self.robot, listenPort: 51820, token: Self.token, at: rev, now: 2000)
        }, published: published.hook)
    }

    @Test func eachWriteReturnsItsChangeAndPublishesItAfterTheCommit() async throws {
        try await withStore { store in
            let published = Published()
            try await seed(store, published)
            let renamed = Member(name: "scout", publicKey: Self.robot.publicKey, address: Self.robot.address, role: .robot)
            let settings = TeamSettings(name: "iris", prefix: Self.settings.prefix, mode: .auto, rosDomainID: 4, rosMaster: "scout", rmwImplementation: "rmw_cyclonedds_cpp")
            let returned = try await store.write({ tx in
                let rev = try tx.bumpRevision(team: 1)
                return [try tx.updateNode(team: 1, renamed, listenPort: nil, token: nil, at: rev), try tx.saveSettings(team: 1, settings, at: rev)]
            }, published: published.hook)
            let removed = try await store.write({ tx in
                try tx.removeNode(team: 1, .init(member: renamed, createdRevision: 2, updatedRevision: 3), at: try tx.bumpRevision(team: 1), now: 3000, reason: "left the team")
            }, published: published.hook)
            #expect(returned == [.nodeUpdated(team: 1, member: renamed, listenPort: nil, at: 3), .settingsChanged(team: 1, settings, at: 3)])
            #expect(removed == .nodeRemoved(team: 1, key: testKey(1), at: 4))
            #expect(published.all == [
                [.teamCreated(TeamRow(id: 1, settings: Self.settings, revision: 1, settingsRevision: 1, createdAt: 1000))],
                [.nodeAdded(NodeRow(id: 1, teamID: 1, member: Self.robot, listenPort: 51820, createdRevision: 2, updatedRevision: 2, enrolledAt: 2000))],
                returned, [removed],
            ])
            let notice = try #require(try await store.lastRemoval(of: testKey(1)))
            #expect(notice.name == "scout" && notice.team == "iris" && notice.reason == "left the team")
        }
    }

    @Test func aThrowRollsBackAndPublishesNothing() async throws {
        try await withStore { store in
            let published = Published()
            try await seed(store, published)
            struct Boom: Error {}
            await #expect(throws: Boom.self) {
                try await store.write({ tx in
                    _ = try tx.removeNode(team: 1, .init(member: Self.robot, createdRevision: 2, updatedRevision: 2), at: try tx.bumpRevision(team: 1), now: 3000, reason: "x")
                    throw Boom()
                }, published: published.hook)
            }
            #expect(published.all.count == 2)
            let loaded = try store.load(historyPerTeam: 10)
            #expect(loaded.contains(.nodeLoaded(NodeRow(id: 1, teamID: 1, member: Self.robot, listenPort: 51820, createdRevision: 2, updatedRevision: 2, enrolledAt: 2000))))
            #expect(loaded.first == .teamCreated(TeamRow(id: 1, settings: Self.settings, revision: 2, settingsRevision: 1, createdAt: 1000)))
        }
    }

    /// `refusable` undoes what its body wrote and recorded, and the audit entry written after it
    /// commits alone.
    @Test func aRefusalLeavesItsAuditEntryAndNothingElse() async throws {
        try await withStore { store in
            let published = Published()
            try await seed(store, published)
            let outcome = try await store.write({ tx -> Result<TeamChange, APIError> in
                let attempt = try tx.refusable { () throws -> TeamChange in
                    let rev = try tx.bumpRevision(team: 1)
                    let m = Member(name: "robot2", publicKey: testKey(2), address: IPv4Address("100.64.0.3")!, role: .robot)
                    let added = try tx.addNode(team: 1, m, listenPort: nil, token: Self.token, at: rev, now: 3000)
                    if rev > 0 { throw APIError(.prefixFull, "no room") }
                    return added
                }
                try tx.appendAudit(time: 3000, actor: "token:x", team: "iris", action: "node.enroll", subject: "robot2", outcome: "prefix-full", detail: nil)
                return attempt
            }, published: published.hook)
            guard case .failure(let e) = outcome else { Issue.record("the refusal was not returned"); return }
            #expect(e.code == .prefixFull)
            #expect(published.all.count == 2)
            let loaded = try store.load(historyPerTeam: 10)
            #expect(loaded.filter { if case .nodeLoaded = $0 { true } else { false } }.count == 1)
            #expect(loaded.first == .teamCreated(TeamRow(id: 1, settings: Self.settings, revision: 2, settingsRevision: 1, createdAt: 1000)))
            let audit = try await store.auditEvents(team: "iris", limit: 10)
            #expect(audit.map(\.outcome) == ["prefix-full"])
        }
    }

    /// At start: each team at its stored revision, every node with its history revisions, and the
    /// newest removals per team, with a floor when older ones stay on disk.
    @Test func loadReadsBackWhatWasWritten() async throws {
        try await withStore { store in
            let published = Published()
            try await seed(store, published)
            for n: UInt8 in 2...4 {
                let m = Member(name: "robot\(n)", publicKey: testKey(n), address: IPv4Address(0x6440_0001 + UInt32(n)), role: .laptop)
                _ = try await store.write({ tx in
                    let rev = try tx.bumpRevision(team: 1)
                    try tx.addNode(team: 1, m, listenPort: nil, token: Self.token, at: rev, now: 3000)
                    try tx.removeNode(team: 1, .init(member: m, createdRevision: rev, updatedRevision: rev), at: try tx.bumpRevision(team: 1), now: 3000, reason: "test")
                }, published: published.hook)
            }
            let loaded = try store.load(historyPerTeam: 2)
            #expect(loaded == [
                .teamCreated(TeamRow(id: 1, settings: Self.settings, revision: 8, settingsRevision: 1, createdAt: 1000)),
                .nodeLoaded(NodeRow(id: 1, teamID: 1, member: Self.robot, listenPort: 51820, createdRevision: 2, updatedRevision: 2, enrolledAt: 2000)),
                .historyLoaded(team: 1, removals: [StoredRemoval(key: testKey(4), createdRevision: 7, revision: 8),
                                                   StoredRemoval(key: testKey(3), createdRevision: 5, revision: 6)], floor: 6),
            ])
            let all = try store.load(historyPerTeam: 10)
            #expect(all.last == .historyLoaded(team: 1, removals: [4, 3, 2].map { StoredRemoval(key: testKey($0), createdRevision: UInt64($0) * 2 - 1, revision: UInt64($0) * 2) }, floor: nil))
        }
    }

    @Test func tokensAreWrittenSpentAndRevokedOnce() async throws {
        try await withStore { store in
            let published = Published()
            try await seed(store, published)
            let id = TokenID.random()
            let row = TokenRow(id: id, teamID: 1, secretHash: Sodium.hash([1, 2, 3]), role: .laptop, maxUses: 2, uses: 0, expiresAt: 9000, revokedAt: nil, createdAt: 1500)
            let (first, second, enrolledWith) = try await store.write({ tx in
                try tx.insertToken(row)
                try tx.spendTokenUse(id)
                let first = try tx.revokeToken(id, now: 5000)
                let second = try tx.revokeToken(id, now: 6000)
                return (first?.token, second?.token, try tx.enrolmentToken(of: testKey(1), team: 1))
            }, published: published.hook)
            var spent = row
            spent.uses = 1
            spent.revokedAt = 5000
            #expect(first == spent && second == spent)
            #expect(enrolledWith == Self.token.description)
            #expect(try await store.tokens(team: 1) == [spent])
            #expect(published.all.count == 2, "token writes change no team")
            let missing = try await store.write({ tx in try tx.revokeToken(TokenID.random(), now: 1)?.team }, published: published.hook)
            #expect(missing == nil)
        }
    }
}
