import Foundation
import GRDB
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's SQLite database (WAL, foreign keys, synchronous=FULL so that an
/// acknowledged change survives a crash of the process or the machine).
/// Every change to a team bumps `team.revision` in the same transaction.
public final class Store: Sendable {
    public let pool: DatabasePool
    public let path: String

    public init(path: String) throws {
        var config = Configuration()
        config.foreignKeysEnabled = true
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        self.path = path
        // SQLite gives the -wal and -shm files the database file's mode: create it 0600 here
        // rather than leave its mode to the process's umask (if that fails, SQLite's open says why).
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 { close(fd) }
        self.pool = try DatabasePool(path: path, configuration: config)
        try Self.migrator.migrate(pool)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE team (
                    id INTEGER PRIMARY KEY,
                    name TEXT NOT NULL UNIQUE,
                    prefix TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    ros_domain_id INTEGER NOT NULL,
                    ros_master TEXT,
                    revision INTEGER NOT NULL,
                    settings_revision INTEGER NOT NULL,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE node (
                    id INTEGER PRIMARY KEY,
                    team_id INTEGER NOT NULL REFERENCES team(id) ON DELETE CASCADE,
                    name TEXT NOT NULL,
                    public_key BLOB NOT NULL UNIQUE,
                    address INTEGER NOT NULL,
                    role TEXT NOT NULL,
                    endpoints TEXT NOT NULL,
                    listen_port INTEGER,
                    observed_endpoint TEXT,
                    created_revision INTEGER NOT NULL,
                    updated_revision INTEGER NOT NULL,
                    enrolled_at INTEGER NOT NULL,
                    token_id TEXT,
                    UNIQUE (team_id, name),
                    UNIQUE (team_id, address)
                );
                CREATE TABLE removal (
                    id INTEGER PRIMARY KEY,
                    team_id INTEGER NOT NULL REFERENCES team(id) ON DELETE CASCADE,
                    public_key BLOB NOT NULL,
                    name TEXT NOT NULL,
                    created_revision INTEGER NOT NULL,
                    revision INTEGER NOT NULL,
                    removed_at INTEGER NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE INDEX removal_key ON removal(public_key);
                CREATE INDEX removal_team_rev ON removal(team_id, revision);
                CREATE TABLE token (
                    id TEXT PRIMARY KEY,
                    team_id INTEGER NOT NULL REFERENCES team(id) ON DELETE CASCADE,
                    secret_hash BLOB NOT NULL,
                    role TEXT NOT NULL,
                    max_uses INTEGER,
                    uses INTEGER NOT NULL DEFAULT 0,
                    expires_at INTEGER NOT NULL,
                    revoked_at INTEGER,
                    created_at INTEGER NOT NULL
                );
                CREATE TABLE audit (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    time INTEGER NOT NULL,
                    actor TEXT NOT NULL,
                    team TEXT,
                    action TEXT NOT NULL,
                    subject TEXT,
                    outcome TEXT NOT NULL,
                    detail TEXT
                );
                CREATE INDEX audit_team ON audit(team, id);
                CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
                CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
                """)
        }
        // Issue 17: the team's ROS 2 discovery (peers or server), its server member and RMW choice.
        m.registerMigration("team-ros-discovery") { db in
            try db.execute(sql: """
                ALTER TABLE team ADD COLUMN ros_discovery TEXT NOT NULL DEFAULT 'peers';
                ALTER TABLE team ADD COLUMN discovery_server TEXT;
                ALTER TABLE team ADD COLUMN rmw_implementation TEXT;
                """)
        }
        // Issue 17: the hash of each node's machine id (`MachineID`), nil for agents that send none.
        m.registerMigration("node-machine-id") { db in
            try db.execute(sql: "ALTER TABLE node ADD COLUMN machine_id TEXT")
        }
        return m
    }
}

// MARK: rows <-> values

struct TeamRow: Sendable {
    var id: Int64
    var settings: TeamSettings
    var revision: UInt64
    var settingsRevision: UInt64
    var createdAt: Int64

    init(row: Row) throws {
        id = row["id"]
        // Only what the admin API makes: a prefix outside /16.../30 would break address
        // arithmetic (a /32 at 255.255.255.255 has no hub address), a negative revision UInt64.
        guard let prefix = IPv4Prefix(row["prefix"] as String), Registry.teamPrefixLengths.contains(prefix.length),
              let mode = PathMode(rawValue: row["mode"]), let discovery = RosDiscovery(rawValue: row["ros_discovery"]),
              (row["rmw_implementation"] as String?).map({ RmwName.problem($0) == nil }) ?? true,
              let revision = UInt64(exactly: row["revision"] as Int64), let settingsRevision = UInt64(exactly: row["settings_revision"] as Int64) else {
            throw DatabaseError(message: "corrupt team row \(row["name"] as String)")
        }
        settings = TeamSettings(name: row["name"], prefix: prefix, mode: mode, rosDomainID: row["ros_domain_id"], rosMaster: row["ros_master"],
                                rosDiscovery: discovery, discoveryServer: row["discovery_server"], rmwImplementation: row["rmw_implementation"])
        self.revision = revision
        self.settingsRevision = settingsRevision
        createdAt = row["created_at"]
    }
}

struct NodeRow: Sendable {
    var id: Int64
    var teamID: Int64
    var member: Member
    var listenPort: UInt16?
    var createdRevision: UInt64
    var updatedRevision: UInt64
    var enrolledAt: Int64

    init(row: Row) throws {
        id = row["id"]
        teamID = row["team_id"]
        let keyData: Data = row["public_key"]
        let endpointsJSON: String = row["endpoints"]
        let endpoints = (try? JSONDecoder().decode([Endpoint].self, from: Data(endpointsJSON.utf8))) ?? []
        let port = row["listen_port"] as Int64?
        // Numbers the coordinator wrote from UInt32, UInt16 and UInt64: anything else is damage, not a trap.
        guard let role = Role(rawValue: row["role"]), let address = UInt32(exactly: row["address"] as Int64),
              port.map({ UInt16(exactly: $0) != nil }) ?? true,
              let created = UInt64(exactly: row["created_revision"] as Int64), let updated = UInt64(exactly: row["updated_revision"] as Int64) else {
            throw DatabaseError(message: "corrupt node row \(row["name"] as String)")
        }
        member = Member(
            name: row["name"], publicKey: try PublicKey(rawValue: Array(keyData)),
            address: IPv4Address(address), role: role, endpoints: endpoints,
            observedEndpoint: (row["observed_endpoint"] as String?).flatMap(Endpoint.init),
            // Checked when written; a damaged one is dropped rather than sent to every member.
            machineID: (row["machine_id"] as String?).flatMap { MachineID.problem($0) == nil ? $0 : nil })
        listenPort = port.flatMap { UInt16(exactly: $0) }
        createdRevision = created
        updatedRevision = updated
        enrolledAt = row["enrolled_at"]
    }
}

struct TokenRow: Sendable {
    var id: TokenID
    var teamID: Int64
    var secretHash: [UInt8]
    var role: Role
    var maxUses: Int?
    var uses: Int
    var expiresAt: Int64
    var revokedAt: Int64?
    var createdAt: Int64

    init(row: Row) throws {
        guard let id = TokenID(row["id"] as String), let role = Role(rawValue: row["role"]) else {
            throw DatabaseError(message: "corrupt token row")
        }
        self.id = id
        teamID = row["team_id"]
        secretHash = Array(row["secret_hash"] as Data)
        self.role = role
        maxUses = row["max_uses"]
        uses = row["uses"]
        expiresAt = row["expires_at"]
        revokedAt = row["revoked_at"]
        createdAt = row["created_at"]
    }

    func state(now: Int64) -> String {
        if revokedAt != nil { return "revoked" }
        if now >= expiresAt { return "expired" }
        if let m = maxUses, uses >= m { return "used-up" }
        return "active"
    }

    func info(team: String, now: Int64) -> TokenInfo {
        TokenInfo(id: id, team: team, role: role, maxUses: maxUses, uses: uses, expiresAt: expiresAt, revokedAt: revokedAt, createdAt: createdAt, state: state(now: now))
    }
}

extension Database {
    func appendAudit(time: Int64, actor: String, team: String?, action: String, subject: String?, outcome: String, detail: String? = nil) throws {
        try execute(
            sql: "INSERT INTO audit (time, actor, team, action, subject, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
            arguments: [time, actor, team, action, subject, outcome, detail])
    }

    /// Bumps and returns the team's revision.
    func bumpRevision(team id: Int64) throws -> UInt64 {
        try execute(sql: "UPDATE team SET revision = revision + 1 WHERE id = ?", arguments: [id])
        return UInt64(try Int64.fetchOne(self, sql: "SELECT revision FROM team WHERE id = ?", arguments: [id])!)
    }
}

func encodeEndpoints(_ e: [Endpoint]) -> String {
    String(decoding: ControlCodec.encodeJSON(e), as: UTF8.self)
}
