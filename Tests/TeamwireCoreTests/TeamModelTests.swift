import Testing
@testable import TeamwireCore
import TestSupport

private let policy = PathPolicy.standard
private let settings = TeamSettings(name: "lab", prefix: prefix("100.80.0.0/24"), mode: .auto, rosDomainID: 1)
private let hub = HubPeer(publicKey: fixedKey(1000), address: ip("100.80.0.1"), endpoints: [endpoint("203.0.113.1:51820")])
private let me = member(0)

private func member(_ k: Int, port: UInt16 = 51820) -> Member {
    Member(name: "m\(k)", publicKey: fixedKey(k), address: IPv4Address(ip("100.80.0.10").value + UInt32(k)), role: .robot,
           endpoints: [Endpoint(host: .ipv4(ip("192.168.0.\(k % 250 + 1)")), port: port)])
}

private func full(_ ms: [Member], revision: UInt64 = 2, team: TeamSettings = settings, hub h: HubPeer = hub) -> MapUpdate {
    MapUpdate(revision: revision, full: true, team: team, hub: h, members: ms)
}

private func model(_ ms: [Member], mode: PathMode = .auto, adopted: Set<Int> = []) -> TeamModel {
    var t = settings
    t.mode = mode
    return TeamModel(map: full([me] + ms, revision: 1, team: t), node: me, policy: policy, now: 0) { adopted.contains(Int($0.address.value - ip("100.80.0.10").value)) }
}

/// Counters as the device shows them: every member's peer and the hub's, unchanged unless given.
private func reading(_ m: TeamModel, at now: Double, _ counters: [PublicKey: PeerCounters] = [:], hubCounters: PeerCounters? = PeerCounters(rx: 0, tx: 0),
                     armed: Bool = false, addressesChanged: Bool = false) -> TeamModel.Event {
    var peers = Dictionary(uniqueKeysWithValues: m.members.keys.map { ($0, PeerCounters(rx: 0, tx: 0)) })
    peers[hub.publicKey] = hubCounters
    for (k, c) in counters { peers[k] = c }
    return .countersRead(.init(peers: peers, doorbellArmed: armed, addressesChanged: addressesChanged, now: now))
}

private extension [TeamModel.Effect] {
    var sleepUntil: Double? {
        for case .sleep(let t) in self { return t }
        return nil
    }
    var probes: [IPv4Address] { compactMap { if case .probe(let a) = $0 { a } else { nil } } }
    var signals: [PathSignalMessage.Kind] { compactMap { if case .signal(let k, _) = $0 { k } else { nil } } }
    var appliesPlan: Bool { contains { if case .apply = $0 { true } else if case .recreateThenApply = $0 { true } else { false } } }
}

@Suite("Team model")
struct TeamModelTests {
    // MARK: the map

    @Test("start: every other member with a path of the team's mode; a direct path the device carries is adopted")
    func initial() {
        let m = model([member(1), member(2)], adopted: [2])
        #expect(Set(m.members.keys) == [fixedKey(1), fixedKey(2)])
        #expect(m.members[fixedKey(1)]?.path.isTrial == true)
        #expect(m.members[fixedKey(2)]?.path.phase == .direct)
        #expect(m.everyone.map(\.publicKey) == [me, member(1), member(2)].map(\.publicKey))
        #expect(m.snapshot == full([me, member(1), member(2)], revision: 1))
        #expect(m.plan.peers.map(\.publicKey) == [hub.publicKey, fixedKey(1), fixedKey(2)])
    }

    @Test("a full map: saved, the whole plan applied, the ROS files rewritten, a look soon")
    func fullMap() {
        var m = model([member(1), member(2)])
        let e = m.handle(.map(full([me, member(1), member(3)], revision: 5), now: 10))
        #expect(m.revision == 5)
        #expect(Set(m.members.keys) == [fixedKey(1), fixedKey(3)])
        #expect(e == [.saveMap(m.snapshot), .apply(m.plan), .mapApplied(changed: 1, removed: 1), .publishRos, .lookNow])
        #expect(m.members[fixedKey(3)]?.path.phase == .trial(until: 13), "a new member starts a trial")
    }

    @Test("a delta writes only its peers; the same revision again is nothing")
    func delta() throws {
        var m = model([member(1), member(2)])
        var d = MapUpdate(revision: 3, full: false, team: settings, hub: hub, members: nil, added: [member(4)], removed: [fixedKey(2)])
        let e = m.handle(.map(d, now: 10))
        let added = try #require(m.members[fixedKey(4)])
        let planned = try #require(PeerPlan.member(member(4), path: added.path))
        #expect(e == [.saveMap(m.snapshot), .update(upserting: [planned], removing: [fixedKey(2)]), .mapApplied(changed: 1, removed: 1), .publishRos, .lookNow])
        #expect(m.handle(.map(d, now: 11)).isEmpty, "already applied")
        d.revision = 4
        d.added = []
        d.removed = []
        #expect(m.handle(.map(d, now: 11)) == [.saveMap(m.snapshot), .update(upserting: [], removing: []), .mapApplied(changed: 0, removed: 0), .publishRos, .lookNow])
    }

    @Test("new endpoints of a relayed member bring its trial forward; its path is otherwise kept")
    func candidatesChanged() throws {
        var m = model([member(1)])
        _ = m.handle(reading(m, at: 0))
        _ = m.handle(reading(m, at: 3))  // the trial ran out: relay until 5, then 4 s after the next failure
        guard case .relay(let r) = m.members[fixedKey(1)]?.path.phase else { Issue.record("not relayed"); return }
        #expect(r == 5)
        var moved = member(1, port: 40000)
        let d = MapUpdate(revision: 3, full: false, team: settings, hub: hub, members: nil, updated: [moved])
        _ = m.handle(.map(d, now: 3.5))
        #expect(m.members[fixedKey(1)]?.member == moved)
        #expect(m.members[fixedKey(1)]?.path.phase == .relay(retryAt: 5), "a sooner retry is kept")
        // The same endpoints again: nothing restarts.
        moved.name = "renamed"
        _ = m.handle(.map(MapUpdate(revision: 4, full: false, team: settings, hub: hub, members: nil, updated: [moved]), now: 4))
        #expect(m.members[fixedKey(1)]?.path.phase == .relay(retryAt: 5))
        #expect(m.members[fixedKey(1)]?.member.name == "renamed")
    }

    @Test("a new mode starts every path again and applies the whole plan", arguments: [PathMode.direct, .relay])
    func modeChange(mode: PathMode) {
        var m = model([member(1), member(2)])
        var t = settings
        t.mode = mode
        let e = m.handle(.map(MapUpdate(revision: 3, full: false, team: t, hub: hub, members: nil), now: 10))
        #expect(e.appliesPlan)
        #expect(m.members.values.allSatisfy { $0.path.mode == mode })
        #expect(m.plan.peers.count == (mode == .relay ? 1 : 3), "forced relay: the hub's peer only")
    }

    @Test("a moved hub applies the whole plan")
    func hubChange() {
        var m = model([member(1)])
        var h = hub
        h.endpoints = [endpoint("203.0.113.2:51820")]
        let e = m.handle(.map(MapUpdate(revision: 3, full: false, team: settings, hub: h, members: nil), now: 10))
        #expect(e.contains(.apply(m.plan)))
        #expect(m.plan.peers.first?.endpoint == .keepLearnt(initial: endpoint("203.0.113.2:51820")))
    }

    @Test("this node's own entry changed: the enrolment is saved first")
    func nodeChanged() {
        var m = model([member(1)])
        var mine = me
        mine.name = "renamed"
        let e = m.handle(.map(MapUpdate(revision: 3, full: false, team: settings, hub: hub, members: nil, updated: [mine]), now: 10))
        #expect(e.first == .saveNode(mine))
        #expect(m.node == mine)
        #expect(m.members[me.publicKey] == nil, "never a peer of itself")
    }

    @Test("property: after any sequence of updates the members are the map's, paths kept unless new or the mode changed")
    func mapProperty() {
        var rng = SeededRNG(seed: 18)
        for _ in 0..<40 {
            var m = model([])
            var reference: [Member] = [me]
            var revision: UInt64 = 1
            for step in 0..<30 {
                revision += 1
                let before = m.members
                var t = settings
                if Int.random(in: 0..<8, using: &rng) == 0 { t.mode = PathMode.allCases.randomElement(using: &rng)! }
                let modeChanged = t.mode != m.settings.mode
                let u: MapUpdate
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    let ms = (1...12).filter { _ in Bool.random(using: &rng) }.map { member($0, port: UInt16.random(in: 51820...51821, using: &rng)) }
                    u = full([me] + ms, revision: revision, team: t)
                } else {
                    let added = (0..<Int.random(in: 0...2, using: &rng)).map { _ in member(Int.random(in: 1...12, using: &rng), port: UInt16.random(in: 51820...51821, using: &rng)) }
                    let removed = (0..<Int.random(in: 0...2, using: &rng)).map { _ in fixedKey(Int.random(in: 1...12, using: &rng)) }
                    u = MapUpdate(revision: revision, full: false, team: t, hub: hub, members: nil, added: added, removed: removed)
                }
                reference = u.applied(to: reference)
                _ = m.handle(.map(u, now: Double(step)))
                #expect(m.everyone == reference)
                #expect(m.members.values.allSatisfy { $0.path.mode == t.mode })
                for (k, s) in m.members {
                    guard let old = before[k], !modeChanged else {
                        #expect(s.path == PathMachine(mode: t.mode, policy: policy, now: Double(step)), "new member or new mode: a fresh path")
                        continue
                    }
                    if old.member.endpointCandidates == s.member.endpointCandidates { #expect(s.path == old.path, "path kept") }
                }
            }
        }
    }

    // MARK: paths

    @Test("an idle look: nothing to do, the next look at the idle tick")
    func idleLook() {
        var m = model([member(1)], adopted: [1])
        #expect(m.handle(reading(m, at: 0)) == [.sleep(until: policy.idleTick)])
        #expect(m.handle(reading(m, at: 25)) == [.sleep(until: 50)])
    }

    @Test("a failed trial: the plan applied, the member told, the retry planned")
    func trialFails() {
        var m = model([member(1)])
        _ = m.handle(reading(m, at: 0))
        let e = m.handle(reading(m, at: 3))
        let relayed = m.members[fixedKey(1)]!.member
        #expect(e == [.pathChanged(relayed, path: .relay, trial: false), .recreateThenApply([], m.plan), .signal(.relay, to: relayed.address),
                      .sleep(until: 5)])
    }

    @Test("a retry re-creates the member's peer before the plan is applied")
    func retryRecreates() {
        var m = model([member(1)])
        _ = m.handle(reading(m, at: 0))
        _ = m.handle(reading(m, at: 3))
        let e = m.handle(reading(m, at: 5))
        #expect(e.contains(.recreateThenApply([fixedKey(1)], m.plan)))
        #expect(e.signals.isEmpty, "a trial starting is no news")
    }

    @Test("unanswered traffic on a direct path: a probe to the member, looking every tick")
    func probing() {
        var m = model([member(1)], adopted: [1])
        _ = m.handle(reading(m, at: 0))
        let e = m.handle(reading(m, at: 1, [fixedKey(1): PeerCounters(rx: 0, tx: 500)]))
        #expect(e == [.probe(member(1).address), .trafficFlows, .sleep(until: 2)])
    }

    @Test("a missing hub peer is put back even when no path changed")
    func hubMissing() {
        var m = model([member(1)], adopted: [1])
        let e = m.handle(reading(m, at: 0, hubCounters: nil))
        #expect(e == [.recreateThenApply([], m.plan), .sleep(until: policy.idleTick)])
    }

    @Test("relayed traffic is seen on the hub's counters, unless the doorbell stood armed and silent")
    func hubTraffic() {
        var m = model([member(1)], adopted: [1])
        _ = m.handle(reading(m, at: 0))
        #expect(m.handle(reading(m, at: 25, hubCounters: PeerCounters(rx: 10, tx: 10))) == [.trafficFlows, .sleep(until: 26)])
        // Under a quiet doorbell the same growth is WireGuard's own keepalives.
        #expect(m.handle(reading(m, at: 26, hubCounters: PeerCounters(rx: 20, tx: 20), armed: true)) == [.sleep(until: 51)])
    }

    @Test("the doorbell: look now; traffic it announced keeps the look a tick after the last")
    func doorbell() {
        var m = model([member(1)], adopted: [1])
        #expect(!m.wokenByTraffic)
        #expect(m.handle(.doorbellRang) == [.lookNow])
        #expect(m.wokenByTraffic)
        // It rang: counters moved while armed are traffic.
        let e = m.handle(reading(m, at: 1, hubCounters: PeerCounters(rx: 10, tx: 10), armed: true))
        #expect(e == [.trafficFlows, .sleep(until: 2)])
        #expect(!m.wokenByTraffic, "the look consumed it")
    }

    @Test("a member's signals: relay follows at once, direct looks at once and soon again")
    func pathSignals() {
        var m = model([member(1), member(2)], adopted: [1])
        _ = m.handle(reading(m, at: 0))
        let e = m.handle(.pathSignal(.relay, from: member(1).address, now: 1))
        #expect(e == [.followedToRelay(member(1)), .apply(m.plan), .lookNow])
        #expect(m.members[fixedKey(1)]?.path.path == .relay)
        #expect(m.handle(.pathSignal(.relay, from: member(1).address, now: 1.5)).isEmpty, "already relayed")
        #expect(m.handle(.pathSignal(.relay, from: ip("100.80.0.99"), now: 2)).isEmpty, "not a member")
        _ = m.handle(.doorbellRang)
        #expect(m.handle(.pathSignal(.direct, from: member(2).address, now: 2)) == [.lookNow])
        #expect(!m.wokenByTraffic, "a signal is looked at without the traffic wait")
        let look = m.handle(reading(m, at: 2.05))
        #expect(look.sleepUntil.map { abs($0 - 2.15) < 1e-9 } == true, "looking for its handshake every 0.1 s")
    }

    @Test("roaming: forget source addresses, a new long poll, a probe to everyone, report now")
    func roaming() {
        var m = model([member(1), member(2)], adopted: [1, 2])
        _ = m.handle(reading(m, at: 0))
        let e = m.handle(reading(m, at: 25, addressesChanged: true))
        #expect(Array(e.prefix(3)) == [.forgetSourceAddresses, .reconnectCoordinator, .probe(hub.address)])
        #expect(Set(e.probes) == [hub.address, member(1).address, member(2).address])
        #expect(Array(e.suffix(3)) == [.reportNow, .trafficFlows, .sleep(until: 26)])
    }

    @Test("the plan applied: pinned endpoints of direct peers give way to what WireGuard learns")
    func planApplied() {
        var m = model([member(1)], mode: .direct)
        #expect(m.plan.peers.last?.endpoint == .set(member(1).endpoints[0]))
        #expect(m.handle(.planApplied).isEmpty)
        #expect(m.plan.peers.last?.endpoint == .keepLearnt(initial: member(1).endpoints[0]))
    }
}
