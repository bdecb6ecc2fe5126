import Foundation
import GRDB
import Logging
import Synchronization
import TeamwireCore

/// The coordinator's identity: its key pair (pinned in every token, and the hub's WireGuard key)
/// and where nodes reach it.
public struct CoordinatorIdentity: Sendable {
    public var privateKey: PrivateKey
    public var publicKey: PublicKey { privateKey.publicKey }
    /// Public control endpoints (HOST:PORT) written into tokens.
    public var endpoints: [Endpoint]
    /// Where members reach the hub's WireGuard interface.
    public var hubEndpoints: [Endpoint]

    public init(privateKey: PrivateKey, endpoints: [Endpoint], hubEndpoints: [Endpoint]) {
        self.privateKey = privateKey
        self.endpoints = endpoints
        self.hubEndpoints = hubEndpoints
    }
}

/// Teams, tokens and nodes: SQLite is the truth, and an in-memory copy of every team map answers
/// reads and long polls. All writes go through GRDB's single writer; the in-memory copy is
/// changed only after a commit (in commit order), so memory never shows what the disk lost.
public final class Registry: Sendable {
    let store: Store
    public let identity: CoordinatorIdentity
    let logger: Logger
    let clock: @Sendable () -> Int64
    let state: Mutex<RuntimeState>
    /// Endpoints written into tokens; learnt after binding when the port was chosen by the kernel.
    let endpointsBox = Mutex<[Endpoint]?>(nil)
    /// Bumped after every committed change to any team: how the hub follows the registry.
    let changes = ChangeFeed()

    /// Tombstones kept in memory per team for computing deltas.
    static let historyPerTeam = 4096

    public init(store: Store, identity: CoordinatorIdentity, logger: Logger, clock: @escaping @Sendable () -> Int64 = Registry.wallClockMillis) throws {
        self.store = store
        self.identity = identity
        self.logger = logger
        self.clock = clock
        let hub = identity
        let runtime = try store.pool.read { db -> RuntimeState in
            var rt = RuntimeState()
            for row in try Row.fetchAll(db, sql: "SELECT * FROM team") {
                let t = try TeamRow(row: row)
                rt.addTeam(t, hubKey: hub.publicKey, hubEndpoints: hub.hubEndpoints)
            }
            for row in try Row.fetchAll(db, sql: "SELECT * FROM node") {
                let n = try NodeRow(row: row)
                rt.teams[n.teamID]?.load(n)
                rt.teamOfKey[n.member.publicKey] = n.teamID
            }
            for (tid, _) in rt.teams {
                let rows = try Row.fetchAll(db, sql: "SELECT public_key, created_revision, revision FROM removal WHERE team_id = ? ORDER BY revision DESC LIMIT ?", arguments: [tid, Self.historyPerTeam])
                // Revisions were written from UInt64: a negative one is damage, refused rather than trapped on.
                func revision(_ r: Row, _ column: String) throws -> UInt64 {
                    guard let v = UInt64(exactly: r[column] as Int64) else { throw DatabaseError(message: "corrupt removal row: \(column) \(r[column] as Int64)") }
                    return v
                }
                if rows.count == Self.historyPerTeam, let oldest = rows.last {
                    // Older removals are not in memory: deltas from before them become full maps.
                    rt.teams[tid]!.map.raiseFloor(to: try revision(oldest, "revision"))
                }
                for r in rows {
                    rt.teams[tid]!.map.loadRemoval(key: try PublicKey(rawValue: Array(r["public_key"] as Data)), createdRevision: try revision(r, "created_revision"), revision: try revision(r, "revision"))
                }
                rt.teams[tid]!.map.finishLoading()
            }
            return rt
        }
        self.state = Mutex(runtime)
        let teams = runtime.teams.count, nodes = runtime.teamOfKey.count
        logger.info("registry loaded", metadata: ["teams": "\(teams)", "nodes": "\(nodes)", "db": "\(store.path)"])
    }

    public static let wallClockMillis: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: authentication of sealed requests

    /// Opens a sealed request and checks it against replay. Errors here are not sealed: the
    /// coordinator cannot be sure who sent the request.
    public func open(_ bytes: [UInt8], op: TeamwireCore.Operation) -> Result<(ControlCodec.OpenedRequest, SharedKey), APIError> {
        do {
            var shared: SharedKey?
            let opened = try ControlCodec.openRequest(bytes, expecting: op) { key in
                let k = self.sharedKey(for: key)
                shared = k
                return k
            }
            let now = clock()
            if let refusal = state.withLock({ $0.replay.admit(nonce: opened.nonce, timestampMillis: opened.timestampMillis, nowMillis: now) }) {
                // Authenticated, so the refusal can be sealed: the node learns the server time.
                return .failure(refusal)
            }
            return .success((opened, shared!))
        } catch {
            return .failure(error)
        }
    }

    func sharedKey(for key: PublicKey) -> SharedKey {
        if let k = state.withLock({ $0.sharedKeys[key] }) { return k }
        let k = SharedKey(privateKey: identity.privateKey, publicKey: key)
        state.withLock { s in
            // Cache only members' keys: a stranger cannot grow this map.
            if s.teamOfKey[key] != nil { s.sharedKeys[key] = k }
        }
        return k
    }

    /// Which team a node belongs to, or the refusal for a key that is not (or no longer) a member.
    func membership(_ key: PublicKey) async -> Result<Int64, APIError> {
        let now = clock()
        if let tid = state.withLock({ s -> Int64? in
            guard let t = s.teamOfKey[key] else { return nil }
            s.lastSeen[key] = now
            return t
        }) { return .success(tid) }
        let removed = try? await store.pool.read { db -> (name: String, team: String, reason: String)? in
            try Row.fetchOne(db, sql: "SELECT r.name, r.reason, t.name AS team FROM removal r JOIN team t ON t.id = r.team_id WHERE r.public_key = ? ORDER BY r.revision DESC LIMIT 1", arguments: [Data(key.rawValue)])
                .map { ($0["name"], $0["team"], $0["reason"]) }
        }
        if let r = removed ?? nil {
            return .failure(APIError(.nodeRemoved, "this node ('\(r.name)') was removed from team '\(r.team)' (\(r.reason)); enrol again with a new token"))
        }
        return .failure(APIError(.unknownNode, "this key is not enrolled with the coordinator; enrol with a token first"))
    }

    // MARK: helpers

    func teamID(named name: String) -> Int64? { state.withLock { $0.teamByName[name] } }

    func requireTeam(_ name: String) throws(APIError) -> Int64 {
        guard let id = teamID(named: name) else { throw APIError(.teamNotFound, "no team named '\(name)'") }
        return id
    }

    /// Runs a write transaction whose refusals (APIError) still commit what was written before
    /// the throw point: used so a refused request leaves its audit entry and nothing else.
    func write<T: Sendable>(_ body: @Sendable @escaping (Database) throws -> T) async -> Result<T, APIError> {
        do {
            return .success(try await store.pool.write(body))
        } catch let e as APIError {
            return .failure(e)
        } catch {
            logger.error("database write failed", metadata: ["error": "\(error)"])
            return .failure(APIError(.internalError, "the coordinator could not save the change: \(error)"))
        }
    }
}

/// The endpoint a node's WireGuard is most likely reachable at from outside: the address its
/// request came from with the WireGuard port it reported.
func observedEndpoint(remoteIP: String?, listenPort: UInt16?) -> Endpoint? {
    guard var ip = remoteIP, let port = listenPort, port != 0 else { return nil }
    if ip.hasPrefix("::ffff:") { ip.removeFirst(7) }
    if let v4 = IPv4Address(ip) { return Endpoint(host: .ipv4(v4), port: port) }
    if let v6 = IPv6Address(ip) { return Endpoint(host: .ipv6(v6), port: port) }
    return nil
}
