import Foundation
import GRDB
import TeamwireCore

/// One write transaction on the SQLite store. Every write to a team is recorded as a TeamChange
/// for Store.write to publish after the commit.
final class StoreTransaction: TeamWriting {
    private let db: Database
    private(set) var changes: [TeamChange] = []

    init(_ db: Database) { self.db = db }

    private func record(_ change: TeamChange) -> TeamChange {
        changes.append(change)
        return change
    }

    func refusable<T>(_ body: () throws -> T) throws -> Result<T, APIError> {
        let mark = changes.count
        var outcome: Result<T, APIError>?
        try db.inSavepoint {
            do {
                outcome = .success(try body())
                return .commit
            } catch let e as APIError {
                outcome = .failure(e)
                return .rollback
            }
        }
        if case .failure = outcome { changes.removeSubrange(mark...) }
        return outcome!
    }

    func appendAudit(time: Int64, actor: String, team: String?, action: String, subject: String?, outcome: String, detail: String?) throws {
        try db.execute(
            sql: "INSERT INTO audit (time, actor, team, action, subject, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [time, actor, team, action, subject, outcome, detail])
    }

    func bumpRevision(team id: Int64) throws -> UInt64 {
        try db.execute(sql: "UPDATE team SET revision = revision + 1 WHERE id = ?", arguments: [id])
        return UInt64(try Int64.fetchOne(db, sql: "SELECT revision FROM team WHERE id = ?", arguments: [id])!)
    }

    // MARK: teams

    func allTeamSettings() throws -> [TeamSettings] {
        try Row.fetchAll(db, sql: "SELECT * FROM team").map { try TeamRow(row: $0).settings }
    }

    func createTeam(_ s: TeamSettings, now: Int64) throws -> TeamChange {
        try db.execute(sql: """
            INSERT INTO team (name, prefix, mode, ros_domain_id, ros_master, ros_discovery, discovery_server, rmw_implementation, revision, settings_revision, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 1, ?)
            """, arguments: [s.name, s.prefix.description, s.mode.rawValue, s.rosDomainID, s.rosMaster, s.rosDiscovery.rawValue, s.discoveryServer, s.rmwImplementation, now])
        return record(.teamCreated(TeamRow(id: db.lastInsertedRowID, settings: s, revision: 1, settingsRevision: 1, createdAt: now)))
    }

    func saveSettings(team: Int64, _ s: TeamSettings, at rev: UInt64) throws -> TeamChange {
        try db.execute(sql: "UPDATE team SET ros_master = ?, ros_discovery = ?, discovery_server = ?, rmw_implementation = ?, settings_revision = ? WHERE id = ?",
                       arguments: [s.rosMaster, s.rosDiscovery.rawValue, s.discoveryServer, s.rmwImplementation, Int64(rev), team])
        return record(.settingsChanged(team: team, s, at: rev))
    }

    // MARK: tokens

    func token(_ id: TokenID) throws -> TokenRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id.description]).map(TokenRow.init(row:))
    }

    func insertToken(_ t: TokenRow) throws {
        try db.execute(sql: "INSERT INTO token (id, team_id, secret_hash, role, max_uses, uses, expires_at, revoked_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       arguments: [t.id.description, t.teamID, Data(t.secretHash), t.role.rawValue, t.maxUses, t.uses, t.expiresAt, t.revokedAt, t.createdAt])
    }

    func revokeToken(_ id: TokenID, now: Int64) throws -> (token: TokenRow, team: String)? {
        guard let row = try Row.fetchOne(db, sql: "SELECT token.*, team.name AS team_name FROM token JOIN team ON team.id = token.team_id WHERE token.id = ?", arguments: [id.description]) else {
            return nil
        }
        var token = try TokenRow(row: row)
        try db.execute(sql: "UPDATE token SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", arguments: [now, id.description])
        token.revokedAt = token.revokedAt ?? now
        return (token, row["team_name"])
    }

    func spendTokenUse(_ id: TokenID) throws {
        try db.execute(sql: "UPDATE token SET uses = uses + 1 WHERE id = ?", arguments: [id.description])
    }

    // MARK: nodes

    func enrolmentToken(of key: PublicKey, team: Int64) throws -> String? {
        try String.fetchOne(db, sql: "SELECT token_id FROM node WHERE public_key = ? AND team_id = ?", arguments: [Data(key.rawValue), team])
    }

    func addNode(team: Int64, _ m: Member, listenPort: UInt16?, token: TokenID, at rev: UInt64, now: Int64) throws -> TeamChange {
        try db.execute(sql: """
            INSERT INTO node (team_id, name, public_key, address, role, endpoints, listen_port, observed_endpoint, created_revision, updated_revision, enrolled_at, token_id, machine_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [team, m.name, Data(m.publicKey.rawValue), Int64(m.address.value), m.role.rawValue, encodeEndpoints(m.endpoints), listenPort.map { Int64($0) },
                             m.observedEndpoint?.description, Int64(rev), Int64(rev), now, token.description, m.machineID])
        return record(.nodeAdded(NodeRow(id: db.lastInsertedRowID, teamID: team, member: m, listenPort: listenPort, createdRevision: rev, updatedRevision: rev, enrolledAt: now)))
    }

    func updateNode(team: Int64, _ m: Member, listenPort: UInt16?, token: TokenID?, at rev: UInt64) throws -> TeamChange {
        try db.execute(sql: """
            UPDATE node SET name = ?, role = ?, endpoints = ?, listen_port = ?, observed_endpoint = ?, updated_revision = ?, token_id = COALESCE(?, token_id), machine_id = ?
            WHERE public_key = ?
            """, arguments: [m.name, m.role.rawValue, encodeEndpoints(m.endpoints), listenPort.map { Int64($0) }, m.observedEndpoint?.description, Int64(rev), token?.description,
                             m.machineID, Data(m.publicKey.rawValue)])
        return record(.nodeUpdated(team: team, member: m, listenPort: listenPort, at: rev))
    }

    func removeNode(team: Int64, _ entry: TeamMapState.Entry, at rev: UInt64, now: Int64, reason: String) throws -> TeamChange {
        let key = entry.member.publicKey
        try db.execute(sql: "DELETE FROM node WHERE public_key = ?", arguments: [Data(key.rawValue)])
        try db.execute(sql: "INSERT INTO removal (team_id, public_key, name, created_revision, revision, removed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       arguments: [team, Data(key.rawValue), entry.member.name, Int64(entry.createdRevision), Int64(rev), now, reason])
        return record(.nodeRemoved(team: team, key: key, at: rev))
    }
}
