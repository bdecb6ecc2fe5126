/// One joined team as this node sees it: the team map, every other member with its path, and
/// whether traffic woke the agent. Pure: `handle` advances it and returns what the session must
/// do, in order (the session owns the device, the files, the sockets and the clock).
public struct TeamModel: Sendable {
    public struct MemberState: Sendable, Equatable {
        public var member: Member
        public var path: PathMachine
    }

    public let policy: PathPolicy
    /// This node as the map lists it.
    public private(set) var node: Member
    public private(set) var settings: TeamSettings
    public private(set) var hub: HubPeer
    public private(set) var revision: UInt64
    /// Every other member, by key.
    public private(set) var members: [PublicKey: MemberState] = [:]
    /// The hub peer's counters at the last look: relayed traffic moves only these.
    private var hubCounters: PeerCounters?
    /// The doorbell rang since the last look: packets cross the interface.
    private var rang = false
    /// A member said through the hub that it now sends to us directly: look at once, even right
    /// after a look (until we follow, it drops what we still send it through the hub).
    private var signalled = false

    /// `adopted`: whether the device a previous agent left carries a direct path to the member.
    public init(map: MapUpdate, node: Member, policy: PathPolicy, now: Double, adopted: (Member) -> Bool = { _ in false }) {
        self.policy = policy
        self.node = node
        settings = map.team
        hub = map.hub
        revision = map.revision
        for m in map.applied(to: []) where m.publicKey != node.publicKey {
            members[m.publicKey] = MemberState(member: m, path: PathMachine(mode: settings.mode, policy: policy, now: now, adopted: adopted(m)))
        }
    }

    /// The whole device as the map and the paths want it.
    public var plan: PeerPlan {
        PeerPlan(hub: hub, prefix: settings.prefix, members: members.values.map { (member: $0.member, path: $0.path) }, policy: policy)
    }

    /// The map as a full update, for the cache.
    public var snapshot: MapUpdate {
        MapUpdate(revision: revision, full: true, team: settings, hub: hub, members: everyone)
    }

    /// Every member, this node included, by address.
    public var everyone: [Member] { (members.values.map(\.member) + [node]).sorted { $0.address < $1.address } }

    /// Woken by traffic (and not by a member's "direct" signal) since the last look.
    public var wokenByTraffic: Bool { rang && !signalled }

    public mutating func handle(_ event: Event) -> [Effect] {
        switch event {
        case .map(let u, let now):
            return map(u, now: now)
        case .countersRead(let r):
            return read(r)
        case .planApplied:
            // Direct peers now hold their pinned endpoint; from here on WireGuard's learnt one is kept.
            var i = members.startIndex
            while i != members.endIndex {
                _ = members.values[i].path.handle(.endpointApplied)
                members.formIndex(after: &i)
            }
            return []
        case .doorbellRang:
            rang = true
            return [.lookNow]
        case .pathSignal(let kind, let address, let now):
            return signal(kind, from: address, now: now)
        }
    }

    // MARK: the team map

    private mutating func map(_ u: MapUpdate, now: Double) -> [Effect] {
        guard u.revision != revision || u.full else { return [] }
        let me = node.publicKey
        let modeChanged = u.team.mode != settings.mode
        let hubChanged = u.hub != hub
        settings = u.team
        hub = u.hub
        revision = u.revision

        var effects: [Effect] = []
        let next = u.applied(to: members.values.map(\.member) + [node])
        let incoming = Dictionary(next.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let removed = members.keys.filter { incoming[$0] == nil }.sorted()
        // A delta names what changed; a full map is compared.
        let changed = u.full ? next.map(\.publicKey).filter { $0 != me && members[$0]?.member != incoming[$0] }
                             : (u.added + u.updated).map(\.publicKey).filter { $0 != me && incoming[$0] != nil }
        if let mine = incoming[me], mine != node {
            node = mine
            effects.append(.saveNode(mine))
        }
        for k in removed { members[k] = nil }
        for m in next where m.publicKey != me {
            if var old = members[m.publicKey], !modeChanged {
                if old.member.endpointCandidates != m.endpointCandidates { _ = old.path.handle(.candidatesChanged(now: now)) }
                old.member = m
                members[m.publicKey] = old
            } else {
                members[m.publicKey] = MemberState(member: m, path: PathMachine(mode: settings.mode, policy: policy, now: now))
            }
        }
        effects.append(.saveMap(snapshot))
        if modeChanged || hubChanged || u.full {
            effects.append(.apply(plan))
        } else {
            let planned = changed.compactMap { k in members[k].flatMap { PeerPlan.member($0.member, path: $0.path) } }
            effects.append(.update(upserting: planned, removing: removed))
        }
        effects.append(.mapApplied(changed: changed.count, removed: removed.count))
        // The ROS outputs follow the map: written after the device has the new peers, so a ROS
        // process started from the files finds its peers reachable.
        effects.append(.publishRos)
        effects.append(.lookNow)  // new members start a trial: look at them soon
        return effects
    }

    // MARK: paths

    private mutating func read(_ r: CounterReading) -> [Effect] {
        // The doorbell stood armed since the last look and did not ring: no packet crossed the
        // interface, so whatever moved the counters was WireGuard's own keepalives and
        // handshakes. That is no reason to look again in a tick (it would double every idle wake-up).
        let watched = r.doorbellArmed && !rang
        let hubNow = r.peers[hub.publicKey]
        var active = rang || (!watched && hubCounters != nil && hubNow != nil && hubNow != hubCounters)
        hubCounters = hubNow
        rang = false
        signalled = false
        var effects: [Effect] = []
        var changed = false
        var news: [Effect] = []
        var restart: [PublicKey] = []
        var i = members.startIndex
        while i != members.endIndex {
            let (k, m) = (members.keys[i], members.values[i].member)
            let pathEffects = members.values[i].path.handle(.countersRead(r.peers[k], candidates: m.endpointCandidates.count, quiet: watched, now: r.now))
            for e in pathEffects {
                switch e {
                case .active: active = active || !watched
                case .probe: effects.append(.probe(m.address))
                case .restartPeer: restart.append(k)
                case .pathChanged(_, let path, let signal):
                    changed = true
                    if let signal { news.append(.signal(signal, to: m.address)) }
                    effects.append(.pathChanged(m, path: path, trial: members.values[i].path.isTrial))
                }
            }
            members.formIndex(after: &i)
        }
        if changed || hubNow == nil {
            // Re-created peers start their trial with a handshake of their own.
            effects.append(.recreateThenApply(restart.sorted(), plan))
        }
        // Tell those members through the hub: one that lost us stops answering on the dead
        // path; one we now reach directly looks at once instead of at its next idle look.
        effects += news
        if r.addressesChanged {
            // Our address changed (roaming): a packet to every member and the hub carries the new
            // source address, so WireGuard on the other side learns it without the coordinator.
            effects += [.forgetSourceAddresses, .reconnectCoordinator, .probe(hub.address)]
            effects += members.values.map { .probe($0.member.address) }
            effects.append(.reportNow)
            active = true
        }
        if active { effects.append(.trafficFlows) }
        effects.append(.sleep(until: PathMachine.nextCheck(members.values.lazy.map(\.path), activeNow: active, now: r.now, policy: policy)))
        return effects
    }

    private mutating func signal(_ kind: PathSignalMessage.Kind, from address: IPv4Address, now: Double) -> [Effect] {
        guard let k = members.first(where: { $0.value.member.address == address })?.key, var s = members[k] else { return [] }
        switch kind {
        case .relay:
            guard !s.path.handle(.peerChoseRelay(now: now)).isEmpty else { return [] }
            members[k] = s
            return [.followedToRelay(s.member), .apply(plan), .lookNow]
        case .direct:
            // Its handshake shows in the counters now or in a moment: look now, and soon again.
            _ = s.path.handle(.peerChoseDirect(now: now))
            members[k] = s
            signalled = true
            return [.lookNow]
        }
    }
}
