import Foundation
import GRDB
import TeamwireCore

/// The SQLite repository: reads on the pool's readers, writes through GRDB's single writer.
extension Store: TeamRepository {
    var location: String { path }

    func load(historyPerTeam: Int) throws -> [TeamChange] {
        try pool.read { db in
            let teams = try Row.fetchAll(db, sql: "SELECT * FROM team").map(TeamRow.init(row:))
            var changes = teams.map(TeamChange.teamCreated)
            let teamIDs = Set(teams.map(\.id))
            for row in try Row.fetchAll(db, sql: "SELECT * FROM node") {
                let node = try NodeRow(row: row)
                // Only with foreign keys off (a hand-edited file) can a node outlive its team.
                guard teamIDs.contains(node.teamID) else { throw DatabaseError(message: "corrupt node row \(node.member.name): no team \(node.teamID)") }
                changes.append(.nodeLoaded(node))
            }
            for team in teams {
                let rows = try Row.fetchAll(db, sql: "SELECT public_key, created_revision, revision FROM removal WHERE team_id = ? ORDER BY revision DESC LIMIT ?", arguments: [team.id, historyPerTeam])
                // Revisions were written from UInt64: a negative one is damage, refused rather than trapped on.
                func revision(_ r: Row, _ column: String) throws -> UInt64 {
                    guard let v = UInt64(exactly: r[column] as Int64) else { throw DatabaseError(message: "corrupt removal row: \(column) \(r[column] as Int64)") }
                    return v
                }
                let removals = try rows.map { r in
                    StoredRemoval(key: try PublicKey(rawValue: Array(r["public_key"] as Data)), createdRevision: try revision(r, "created_revision"), revision: try revision(r, "revision"))
                }
                let floor = removals.count == historyPerTeam ? removals.last?.revision : nil
                changes.append(.historyLoaded(team: team.id, removals: removals, floor: floor))
            }
            return changes
        }
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (any TeamWriting) throws -> T,
                            published: @escaping @Sendable ([TeamChange]) -> Void) async throws -> T {
        try await pool.write { db in
            let tx = StoreTransaction(db)
            let result = try body(tx)
            let changes = tx.changes
            if !changes.isEmpty { db.afterNextTransaction { _ in published(changes) } }
            return result
        }
    }

    func lastRemoval(of key: PublicKey) async throws -> RemovalNotice? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT r.name, r.reason, t.name AS team FROM removal r JOIN team t ON t.id = r.team_id WHERE r.public_key = ? ORDER BY r.revision DESC LIMIT 1", arguments: [Data(key.rawValue)])
                .map { RemovalNotice(name: $0["name"], team: $0["team"], reason: $0["reason"]) }
        }
    }

    func tokens(team: Int64) async throws -> [TokenRow] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM token WHERE team_id = ? ORDER BY created_at, id", arguments: [team]).map(TokenRow.init(row:))
        }
    }

    func auditEvents(team: String?, limit: Int) async throws -> [AuditEvent] {
        try await pool.read { db in
            let rows: [Row]
            if let team {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM audit WHERE team = ? ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [team, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id", arguments: [limit])
            }
            return rows.map { r in
                AuditEvent(id: r["id"], time: r["time"], actor: r["actor"], team: r["team"], action: r["action"], subject: r["subject"], outcome: r["outcome"], detail: r["detail"])
            }
        }
    }
}
