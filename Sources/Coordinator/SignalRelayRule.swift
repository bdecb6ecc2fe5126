import TeamwireCore

/// Which path signals the hub passes on (see HubSignals): only between two members of one team,
/// and the same signal between the same two members at most once per `floodWindow`.
struct SignalRelayRule: Sendable {
    static let floodWindow: Duration = .milliseconds(500)

    /// Who holds an overlay address, as last applied to the hub.
    struct Holder: Equatable, Sendable {
        var team: String
        var publicKey: PublicKey
    }

    enum Verdict: Equatable {
        case relay, notOneTeam, flood
    }

    private struct Pair: Hashable {
        var from: IPv4Address
        var to: IPv4Address
        var kind: PathSignalMessage.Kind
    }

    private var holders: [IPv4Address: Holder] = [:]
    /// Last relay per (from, to, kind).
    private var recent: [Pair: ContinuousClock.Instant] = [:]

    mutating func update(_ hubTeams: [HubTeam]) {
        var map: [IPv4Address: Holder] = [:]
        for t in hubTeams { for m in t.members { map[m.address] = Holder(team: t.name, publicKey: m.publicKey) } }
        // An address that changed hands (a member removed, a new one given its address) starts
        // afresh: the new member's first signals are not a flood of the old one's.
        let changed = Set(holders.keys).union(map.keys).filter { holders[$0] != map[$0] }
        holders = map
        if !changed.isEmpty { recent = recent.filter { !changed.contains($0.key.from) && !changed.contains($0.key.to) } }
    }

    mutating func admit(_ kind: PathSignalMessage.Kind, from: IPv4Address, to: IPv4Address, now: ContinuousClock.Instant) -> Verdict {
        guard from != to, let a = holders[from], let b = holders[to], a.team == b.team else { return .notOneTeam }
        let key = Pair(from: from, to: to, kind: kind)
        if let last = recent[key], now - last < Self.floodWindow { return .flood }
        // Bounded by members squared times two kinds; the cap only guards against a bug.
        if recent.count > 100_000 { recent.removeAll() }
        recent[key] = now
        return .relay
    }
}
