import TeamwireCore

/// One team's live state in memory.
struct TeamRuntime {
    var id: Int64
    var createdAt: Int64
    var map: TeamMapState
    var allocator: AddressAllocator
    var nodeIDs: [PublicKey: Int64] = [:]
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

    mutating func load(_ n: NodeRow) {
        map.load(.init(member: n.member, createdRevision: n.createdRevision, updatedRevision: n.updatedRevision))
        allocator.reserve(n.member.address)
        nodeIDs[n.member.publicKey] = n.id
        listenPorts[n.member.publicKey] = n.listenPort
        enrolledAt[n.member.publicKey] = n.enrolledAt
    }

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

struct RuntimeState {
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

    /// Mutates one team in place (no copy of its member tables).
    mutating func withTeam<R>(_ id: Int64, _ body: (inout TeamRuntime) -> R) -> R {
        body(&teams[id]!)
    }

    mutating func addTeam(_ t: TeamRow, hubKey: PublicKey, hubEndpoints: [Endpoint]) {
        let hub = HubPeer(publicKey: hubKey, address: AddressAllocator.hubAddress(in: t.settings.prefix), endpoints: hubEndpoints)
        teams[t.id] = TeamRuntime(
            id: t.id, createdAt: t.createdAt,
            map: TeamMapState(settings: t.settings, hub: hub, revision: t.revision, settingsRevision: t.settingsRevision),
            allocator: AddressAllocator(prefix: t.settings.prefix))
        teamByName[t.settings.name] = t.id
    }
}

