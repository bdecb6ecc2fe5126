import Foundation
import GRDB
import TeamwireCore

// Rows of the store as values: decoded (and checked) here, written by StoreTransaction.

struct TeamRow: Sendable, Equatable {
    var id: Int64
    var settings: TeamSettings
    /// Bumped by every change to the team; the settings' own revision tells members what to rewrite.
    var revision, settingsRevision: UInt64
    var createdAt: Int64
}

extension TeamRow {
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

struct NodeRow: Sendable, Equatable {
    var id, teamID: Int64
    var member: Member
    /// The WireGuard port the node last reported (nil: none), for its observed endpoint.
    var listenPort: UInt16?
    /// When the key enrolled and last changed: the team map's history, for deltas.
    var createdRevision, updatedRevision: UInt64
    var enrolledAt: Int64
}

extension NodeRow {
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

struct TokenRow: Sendable, Equatable {
    var id: TokenID
    var teamID: Int64
    var secretHash: [UInt8]
    var role: Role
    var maxUses: Int?
    var uses: Int
    var expiresAt: Int64
    var revokedAt: Int64?
    var createdAt: Int64
}

extension TokenRow {
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

func encodeEndpoints(_ e: [Endpoint]) -> String {
    String(decoding: ControlCodec.encodeJSON(e), as: UTF8.self)
}
