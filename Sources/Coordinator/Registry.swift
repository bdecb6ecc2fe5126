import Foundation
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

/// Teams, tokens and nodes: the repository (SQLite) is the truth, and an in-memory copy of every
/// team map answers reads and long polls. All writes go through GRDB's single writer; the
/// in-memory copy is changed only after a commit (in commit order), by applying the TeamChanges
/// the write returned, so memory never shows what the disk lost.
public final class Registry: Sendable {
    let repository: any TeamRepository
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
        self.repository = store
        self.identity = identity
        self.logger = logger
        self.clock = clock
        // Start-up replays what is stored through the same path as live changes.
        var runtime = RuntimeState(hubKey: identity.publicKey, hubEndpoints: identity.hubEndpoints)
        for change in try store.load(historyPerTeam: Self.historyPerTeam) { runtime.apply(change) }
        self.state = Mutex(runtime)
        let teams = runtime.teams.count, nodes = runtime.teamOfKey.count
        logger.info("registry loaded", metadata: ["teams": "\(teams)", "nodes": "\(nodes)", "db": "\(store.location)"])
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
        if let tid = state.withLock({ $0.seen(key, at: now) }) { return .success(tid) }
        if let r = (try? await repository.lastRemoval(of: key)) ?? nil {
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

    /// Runs a write transaction; a thrown refusal (APIError) rolls it back. A refusal that must
    /// leave its audit entry and nothing else returns it instead, after `TeamWriting.refusable`
    /// undid the rest (Enrolment.swift).
    func write<T: Sendable>(_ body: @Sendable @escaping (any TeamWriting) throws -> T) async -> Result<T, APIError> {
        do {
            return .success(try await repository.write(body, published: { self.publish($0) }))
        } catch let e as APIError {
            return .failure(e)
        } catch {
            logger.error("database write failed", metadata: ["error": "\(error)"])
            return .failure(APIError(.internalError, "the coordinator could not save the change: \(error)"))
        }
    }

    /// The one place memory follows a commit (called in commit order): the transaction's changes
    /// are applied, then every long poll waiting on a changed team wakes and the hub is told.
    func publish(_ committed: [TeamChange]) {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            for change in committed { s.apply(change) }
            return Set(committed.map(\.team)).flatMap { s.withTeam($0) { $0.changed() } }
        }
        for c in woken { c.resume() }
        changes.bump()
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
