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
