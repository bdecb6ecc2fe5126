import Testing
@testable import TeamwireCore

private let policy = PathPolicy.standard
private let prefix = IPv4Prefix("100.80.0.0/24")!
private let hub = HubPeer(publicKey: fixedKey(900), address: ip("100.80.0.1"), endpoints: [Endpoint("198.51.100.1:51820")!, Endpoint("198.51.100.2:51820")!])

/// A member with `n` endpoint candidates (the observed one first when there is any).
private func member(_ k: Int, candidates n: Int) -> Member {
    let all = (0..<n).map { Endpoint("192.0.2.\(k):\(51_000 + $0)")! }
    return Member(name: "m\(k)", publicKey: fixedKey(k), address: IPv4Address(ip("100.80.0.10").value + UInt32(k)), role: .robot,
                  endpoints: Array(all.dropFirst()), observedEndpoint: all.first)
}

/// One machine in every phase it can be in, with whether its endpoint is pinned and the
/// candidate it uses.
private func machines(_ mode: PathMode) -> [(name: String, machine: PathMachine, pinned: Bool, candidate: Int)] {
    let fresh = PathMachine(mode: mode, policy: policy, now: 0)
    switch mode {
    case .relay:
        return [("forced relay", fresh, false, 0)]
    case .direct:
        var applied = fresh
        _ = applied.handle(.endpointApplied)
        return [("direct, new", fresh, true, 0), ("direct, applied", applied, false, 0),
                ("direct, adopted", PathMachine(mode: .direct, policy: policy, now: 0, adopted: true), false, 0)]
    case .auto:
        var relay = fresh
        let c = PeerCounters(rx: 0, tx: 0)
        _ = relay.handle(.countersRead(c, candidates: 2, quiet: false, now: 0))
        _ = relay.handle(.countersRead(c, candidates: 2, quiet: false, now: 3))
        var direct = fresh
        _ = direct.handle(.countersRead(c, candidates: 2, quiet: false, now: 0))
        _ = direct.handle(.countersRead(PeerCounters(rx: 92, tx: 0, handshake: 1), candidates: 2, quiet: false, now: 1))
        // The failed trial moved on to the next candidate.
        return [("trial", fresh, true, 0), ("relay", relay, false, 1), ("direct", direct, false, 0),
                ("adopted", PathMachine(mode: .auto, policy: policy, now: 0, adopted: true), false, 0)]
    }
}

@Suite("Peer plan")
struct PeerPlanTests {
    @Test("a member's peer for every phase, mode and number of candidates", arguments: PathMode.allCases, [0, 1, 3])
    func memberPeer(mode: PathMode, candidates: Int) throws {
        let m = member(4, candidates: candidates)
        for (name, machine, pinned, candidate) in machines(mode) {
            let planned = PeerPlan.member(m, path: machine)
            guard machine.phase != .forcedRelay else {
                #expect(planned == nil, "forced relay: no peer of its own, the hub carries everything")
                continue
            }
            let p = try #require(planned, "\(name)")
            #expect(p.publicKey == m.publicKey)
            let all = m.endpointCandidates
            if !all.isEmpty {
                let e = all[candidate % all.count]
                #expect(p.endpoint == (pinned ? .set(e) : .keepLearnt(initial: e)), "\(name)")
            } else {
                #expect(p.endpoint == .keepLearnt(initial: nil), "\(name): nothing to set")
            }
            switch machine.phase {
            case .direct:
                #expect(p.allowedIPs == [.host(m.address)], "\(name)")
                #expect(p.keepalive == policy.keepalive)
            case .trial:
                #expect(p.allowedIPs.isEmpty, "a trial routes nothing: the hub carries traffic meanwhile")
                #expect(p.keepalive == policy.trialKeepalive)
            case .relay:
                #expect(p.allowedIPs.isEmpty)
                #expect(p.keepalive == 0)
            case .forcedRelay:
                Issue.record("handled above")
            }
        }
    }

    @Test("a trial after a failure uses the next candidate; direct keeps the one it succeeded with")
    func candidateRotation() {
        let m = member(4, candidates: 3)
        var l = PathMachine(mode: .auto, policy: policy, now: 0)
        _ = l.handle(.countersRead(PeerCounters(rx: 0, tx: 0), candidates: 3, quiet: false, now: 0))
        _ = l.handle(.countersRead(PeerCounters(rx: 0, tx: 0), candidates: 3, quiet: false, now: 3))  // trial 0 failed
        #expect(PeerPlan.member(m, path: l)?.endpoint == .keepLearnt(initial: m.endpointCandidates[1]))
        _ = l.handle(.countersRead(PeerCounters(rx: 0, tx: 0), candidates: 3, quiet: false, now: 5))  // trial 1
        #expect(PeerPlan.member(m, path: l)?.endpoint == .set(m.endpointCandidates[1]))
        _ = l.handle(.countersRead(PeerCounters(rx: 92, tx: 0, handshake: 1), candidates: 3, quiet: false, now: 6))
        #expect(l.phase == .direct)
        #expect(PeerPlan.member(m, path: l)?.endpoint == .keepLearnt(initial: m.endpointCandidates[1]))
    }

    @Test("a node's plan: the hub first with the team prefix, then members by address, none in forced relay", arguments: PathMode.allCases)
    func nodePlan(mode: PathMode) {
        let members = [member(7, candidates: 1), member(2, candidates: 0), member(5, candidates: 2)]
        let plan = PeerPlan(hub: hub, prefix: prefix, members: members.map { (member: $0, path: PathMachine(mode: mode, policy: policy, now: 0)) },
                            policy: policy)
        #expect(plan.peers.first == PlannedPeer(publicKey: hub.publicKey, endpoint: .keepLearnt(initial: hub.endpoints[0]),
                                                allowedIPs: [prefix], keepalive: policy.keepalive))
        let rest = plan.peers.dropFirst().map(\.publicKey)
        #expect(rest == (mode == .relay ? [] : [fixedKey(2), fixedKey(5), fixedKey(7)]))
        // A hub without endpoints: whatever WireGuard has.
        var bare = hub
        bare.endpoints = []
        #expect(PeerPlan.hub(bare, prefix: prefix, policy: policy).endpoint == .keepLearnt(initial: nil))
    }

    @Test("the hub's peer for a member: its /32, its best endpoint for a new peer, the learnt one after")
    func hubMember() {
        let e = Endpoint("203.0.113.9:40000")!
        let p = PeerPlan.hubMember(publicKey: fixedKey(3), address: ip("100.80.0.3"), endpoint: e)
        #expect(p == PlannedPeer(publicKey: fixedKey(3), endpoint: .keepLearnt(initial: e), allowedIPs: [.host(ip("100.80.0.3"))], keepalive: nil))
        #expect(PeerPlan.hubMember(publicKey: fixedKey(3), address: ip("100.80.0.3"), endpoint: nil).endpoint == .keepLearnt(initial: nil))
    }

    @Test("endpoint intent against what the device holds")
    func intentResolution() {
        let a = Endpoint("192.0.2.1:1")!, b = Endpoint("192.0.2.2:2")!
        #expect(EndpointIntent.set(a).endpoint(deviceHas: nil) == a)
        #expect(EndpointIntent.set(a).endpoint(deviceHas: b) == a)
        #expect(EndpointIntent.set(a).endpoint(deviceHas: a) == a)
        #expect(EndpointIntent.keepLearnt(initial: a).endpoint(deviceHas: nil) == a)
        #expect(EndpointIntent.keepLearnt(initial: a).endpoint(deviceHas: b) == nil, "the learnt endpoint stays")
        #expect(EndpointIntent.keepLearnt(initial: nil).endpoint(deviceHas: nil) == nil)
        #expect(EndpointIntent.keepLearnt(initial: nil).endpoint(deviceHas: b) == nil)
    }
}
