import TeamwireCore

/// One team's live state in memory.
struct TeamRuntime {
    var id: Int64
    var createdAt: Int64
    var map: TeamMapState
    var allocator: AddressAllocator
    var listenPorts: [PublicKey: UInt16] = [:]
    var enrolledAt: [PublicKey: Int64] = [:]
    /// The outside endpoint the hub's WireGuard learnt from each member's packets: more accurate
    /// behind NAT than the address a report came from, so reports do not overwrite it.
    var hubObserved: [PublicKey: Endpoint] = [:]
    /// Long polls parked until the team's revision moves.
    var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// Encoded MapUpdate by the `since` it answers, valid for the current revision only: a change
    /// is encoded once however many members wait for it.
    var encoded: [UInt64: [UInt8]] = [:]
    /// When the last change was committed and applied (for wake-latency metrics).
    var lastChangeAt: ContinuousClock.Instant = .now

    /// Called after each committed change: drop the stale cache and wake every waiter.
    mutating func changed() -> [CheckedContinuation<Void, Never>] {
        lastChangeAt = .now
        encoded.removeAll(keepingCapacity: true)
        let w = Array(waiters.values)
        waiters.removeAll(keepingCapacity: true)
        return w
    }

    func encodedUpdate(since: UInt64) -> [UInt8] {
        ControlCodec.encodeJSON(map.update(since: since))
    }
}

/// Everything the registry holds in memory. Teams change only through `apply` (RuntimeApply.swift);
/// the rest are caches of requests (replay window, shared keys, last seen) and long-poll bookkeeping.
struct RuntimeState {
    /// The hub as every team's map shows it (its address differs per team).
    let hubKey: PublicKey
    let hubEndpoints: [Endpoint]
    var teams: [Int64: TeamRuntime] = [:]
    var teamByName: [String: Int64] = [:]
    var teamOfKey: [PublicKey: Int64] = [:]
    var lastSeen: [PublicKey: Int64] = [:]
    var replay = ReplayWindow()
    var sharedKeys: [PublicKey: SharedKey] = [:]
    var nextWaiter = 0
    /// Set on graceful shutdown: parked polls are answered and no new poll parks, so a SIGTERM
    /// never waits out a long poll.
    var draining = false

    init(hubKey: PublicKey, hubEndpoints: [Endpoint]) {
        self.hubKey = hubKey
        self.hubEndpoints = hubEndpoints
    }

    /// A member's request: when it was last heard from. Returns its team (nil: not a member).
    mutating func seen(_ key: PublicKey, at now: Int64) -> Int64? {
        guard let t = teamOfKey[key] else { return nil }
        lastSeen[key] = now
        return t
    }

    /// Mutates one team in place (no copy of its member tables).
    mutating func withTeam<R>(_ id: Int64, _ body: (inout TeamRuntime) -> R) -> R {
        body(&teams[id]!)
    }
}

