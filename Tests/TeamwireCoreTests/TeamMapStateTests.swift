import Testing
@testable import TeamwireCore
import TestSupport

private let settings = TeamSettings(name: "lab", prefix: prefix("100.80.0.0/24"), mode: .auto, rosDomainID: 1)
private let hub = HubPeer(publicKey: fixedKey(1000), address: ip("100.80.0.1"), endpoints: [endpoint("203.0.113.1:51820")])

private func member(_ k: Int, name: String? = nil, port: UInt16 = 51820, role: Role = .robot) -> Member {
    Member(name: name ?? "m\(k)", publicKey: fixedKey(k), address: IPv4Address(ip("100.80.0.10").value + UInt32(k)), role: role,
           endpoints: [Endpoint(host: .ipv4(ip("192.168.0.\(k % 250 + 1)")), port: port)])
}

private func keys(_ ms: [Member]) -> [PublicKey] { ms.map(\.publicKey).sorted() }

/// Drives a TeamMapState with random changes and remembers every member list it published.
private struct History {
    var state: TeamMapState
    var snapshots: [UInt64: [Member]] = [:]
    var settingsAt: [UInt64: TeamSettings] = [:]
    var removals: [(key: PublicKey, created: UInt64, revision: UInt64)] = []
    var created: [PublicKey: UInt64] = [:]
    var rng: SeededRNG
    let pool: Int

    init(seed: UInt64, pool: Int, maxLogLength: Int) {
        rng = SeededRNG(seed: seed)
        self.pool = pool
        state = TeamMapState(settings: settings, hub: hub, revision: 1, maxLogLength: maxLogLength)
        snapshots[1] = []
        settingsAt[1] = settings
    }

    /// One transaction: one to three changes sharing a new revision.
    mutating func step() {
        let rev = state.revision + UInt64.random(in: 1...3, using: &rng)
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let k = Int.random(in: 0..<pool, using: &rng)
            let key = fixedKey(k)
            let present = state.entry(key) != nil
            let r = Int.random(in: 0..<10, using: &rng)
            if r == 9 {
                var s = state.settings
                s.rosDomainID = Int.random(in: 1...101, using: &rng)
                state.updateSettings(s, at: rev)
            } else if !present {
                created[key] = rev
                state.upsert(member(k), at: rev)
            } else if r < 5 {
                let m = member(k, name: Bool.random(using: &rng) ? "m\(k)" : "m\(k)x", port: UInt16.random(in: 1...65535, using: &rng),
                               role: Bool.random(using: &rng) ? .robot : .laptop)
                state.upsert(m, at: rev)
            } else if r < 8 {
                removals.append((key, created[key]!, rev))
                state.remove(key, at: rev)
            } else {
                state.upsert(member(k), at: rev)
            }
        }
        #expect(state.revision == rev)
        snapshots[rev] = state.members
        settingsAt[rev] = state.settings
    }
}

/// Checks that `update(since:)` brings every published snapshot to the current map.
private func checkDeltas(_ state: TeamMapState, _ snapshots: [UInt64: [Member]], deltas: inout Int, label: String) {
    let current = state.members
    for (r, snap) in snapshots {
        let u = state.update(since: r)
        #expect(u.revision == state.revision)
        #expect(u.team == state.settings)
        #expect(u.hub == hub)
        let applied = u.applied(to: snap)
        #expect(applied == current, "\(label): since \(r) (revision \(state.revision), floor \(state.floor), full \(u.full))")
        if r == state.revision {
            #expect(u.isEmptyDelta)
        } else if r < state.floor || r == 0 {
            #expect(u.full, "\(label): since \(r) is below the floor \(state.floor)")
        }
        if u.full {
            #expect(u.members == current)
        } else {
            deltas += 1
            #expect(u.members == nil)
            let a = Set(u.added.map(\.publicKey)), up = Set(u.updated.map(\.publicKey)), rm = Set(u.removed)
            #expect(a.isDisjoint(with: up) && a.isDisjoint(with: rm) && up.isDisjoint(with: rm))
            #expect(u.added.count + u.updated.count + u.removed.count <= state.count, "a delta is never larger than the team")
            // Minimal: only what changed after r is mentioned.
            let before = Dictionary(uniqueKeysWithValues: snap.map { ($0.publicKey, $0) })
            for m in u.added + u.updated { #expect(state.entry(m.publicKey)!.updatedRevision > r) }
            for k in u.removed { #expect(before[k] != nil && state.entry(k) == nil, "\(label): removal of a key the node never had") }
            for k in up { #expect(before[k] != nil, "\(label): update of a key the node does not have") }
            #expect(u.added.map(\.address) == u.added.map(\.address).sorted())
            #expect(u.updated.map(\.address) == u.updated.map(\.address).sorted())
            #expect(u.removed == u.removed.sorted())
        }
    }
}

@Suite("Team map state")
struct TeamMapStateTests {
    @Test("property: the delta since any published revision, applied to that snapshot, gives the current map",
          arguments: [(1, 4096), (2, 4096), (3, 4096), (4, 25), (5, 10), (6, 3)] as [(UInt64, Int)])
    func deltaProperty(seed: UInt64, maxLogLength: Int) {
        var h = History(seed: seed, pool: 10, maxLogLength: maxLogLength)
        var deltas = 0
        for i in 0..<150 {
            h.step()
            if i % 10 == 9 { checkDeltas(h.state, h.snapshots, deltas: &deltas, label: "seed \(seed) step \(i)") }
        }
        #expect(deltas > 20, "the delta path should be exercised, not only full maps")
        // Out-of-range revisions get the full map.
        #expect(h.state.update(since: 0).full)
        #expect(h.state.update(since: h.state.revision + 1).full)
        #expect(h.state.update(since: .max).full)
        if maxLogLength < 100 { #expect(h.state.floor > 1, "a short log raises the floor") }
    }

    @Test("property: a map loaded from the store answers deltas like the live one",
          arguments: [(11, Int.max), (12, Int.max), (13, 8), (14, 3)] as [(UInt64, Int)])
    func loadedProperty(seed: UInt64, history: Int) {
        var h = History(seed: seed, pool: 8, maxLogLength: 4096)
        for _ in 0..<120 { h.step() }
        let live = h.state
        var loaded = TeamMapState(settings: live.settings, hub: hub, revision: live.revision, settingsRevision: live.settingsRevision)
        for e in live.entries.values { loaded.load(e) }
        let rows = h.removals.sorted { $0.revision > $1.revision }.prefix(history)
        if rows.count == history, let oldest = rows.last { loaded.raiseFloor(to: oldest.revision) }
        for r in rows { loaded.loadRemoval(key: r.key, createdRevision: r.created, revision: r.revision) }
        loaded.finishLoading()
        #expect(loaded.members == live.members)
        #expect(loaded.revision == live.revision)
        var deltas = 0
        checkDeltas(loaded, h.snapshots, deltas: &deltas, label: "loaded seed \(seed)")
        #expect(deltas > 0)
    }

    @Test("added, updated and removed are told apart")
    func classification() throws {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        s.upsert(member(2), at: 2)
        for k in [3, 9, 10, 11, 12] { s.upsert(member(k), at: 3) }
        // A node syncs at revision 3.
        s.upsert(member(2, port: 1), at: 4)  // updated
        s.remove(fixedKey(3), at: 4)  // removed
        s.upsert(member(4), at: 5)  // added
        s.upsert(member(5), at: 5)
        s.remove(fixedKey(5), at: 6)  // came and went: not mentioned
        let u = s.update(since: 3)
        #expect(!u.full)
        #expect(u.added == [member(4)])
        #expect(u.updated == [member(2, port: 1)])
        #expect(u.removed == [fixedKey(3)])
        #expect(s.entry(fixedKey(2))?.createdRevision == 2)
        #expect(s.entry(fixedKey(2))?.updatedRevision == 4)
        #expect(s.entry(fixedKey(4))?.createdRevision == 5)
        #expect(s.count == 7)
        #expect(s.members.map(\.publicKey) == [1, 2, 4, 9, 10, 11, 12].map(fixedKey))
    }

    @Test("a member removed, re-added and removed again after the node's revision is reported removed")
    func removedTwice() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        s.upsert(member(2), at: 2)
        for k in 3...7 { s.upsert(member(k), at: 2) }
        let snapshot = s.members  // the node is at revision 2
        s.remove(fixedKey(1), at: 3)
        s.upsert(member(1), at: 4)  // re-enrolled with the same key
        s.remove(fixedKey(1), at: 5)
        let u = s.update(since: 2)
        #expect(!u.full)
        #expect(u.removed == [fixedKey(1)])
        #expect(u.applied(to: snapshot) == s.members)
    }

    @Test("a member removed and re-added after the node's revision reaches the node")
    func removedAndReadded() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        s.upsert(member(2), at: 2)
        let snapshot = s.members
        s.remove(fixedKey(1), at: 3)
        s.upsert(member(1, port: 7), at: 4)
        let u = s.update(since: 2)
        #expect(!u.full)
        #expect(u.applied(to: snapshot) == s.members)
        #expect((u.added + u.updated).map(\.publicKey) == [fixedKey(1)])
    }

    @Test("a delta with more changes than the team has members is sent as the full map")
    func largeDeltaFallsBack() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        s.upsert(member(2), at: 2)
        s.upsert(member(1, port: 1), at: 3)
        #expect(!s.update(since: 2).full)
        s.upsert(member(1, port: 2), at: 4)
        #expect(!s.update(since: 2).full, "two changes, two members")
        s.upsert(member(1, port: 3), at: 5)
        let u = s.update(since: 2)
        #expect(u.full)
        #expect(u.members == s.members)
        #expect(!s.update(since: 4).full)
    }

    @Test("since the current revision: an empty delta")
    func emptyDelta() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 7)
        #expect(s.update(since: 7).isEmptyDelta)
        s.upsert(member(1), at: 8)
        let u = s.update(since: 8)
        #expect(u.isEmptyDelta)
        #expect(u.revision == 8)
        #expect(u.members == nil)
        #expect(!s.update(since: 7).isEmptyDelta)
    }

    @Test("settings changes bump the revision and travel with every update")
    func settingsChange() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        var new = settings
        new.mode = .relay
        new.rosMaster = "m1"
        s.updateSettings(new, at: 3)
        #expect(s.revision == 3)
        #expect(s.settingsRevision == 3)
        let u = s.update(since: 2)
        #expect(!u.full)
        #expect(u.team == new)
        #expect(u.added.isEmpty && u.updated.isEmpty && u.removed.isEmpty)
        #expect(s.full().team == new)
    }

    @Test("the log is trimmed to its maximum and the floor rises")
    func trimming() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1, maxLogLength: 3)
        for k in 1...3 { s.upsert(member(k), at: UInt64(k + 1)) }
        #expect(s.floor == 0)
        s.upsert(member(4), at: 5)
        // Four records, three kept: the record of revision 2 is gone.
        #expect(s.floor == 2)
        #expect(!s.update(since: 2).full)
        #expect(s.update(since: 1).full)
        #expect(s.update(since: 2).applied(to: [member(1)]) == s.members)
        s.upsert(member(1, port: 1), at: 6)
        #expect(s.floor == 3)
        #expect(s.update(since: 2).full)
        let u = s.update(since: 3)
        #expect(!u.full)
        #expect(u.applied(to: [member(1), member(2)]) == s.members)
        #expect(s.maxLogLength == 3)
    }

    @Test("a raised floor makes older deltas full maps")
    func raisedFloor() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1), at: 2)
        s.upsert(member(2), at: 3)
        s.raiseFloor(to: 3)
        #expect(s.floor == 3)
        s.raiseFloor(to: 2)
        #expect(s.floor == 3, "the floor never goes down")
        #expect(s.update(since: 2).full)
        #expect(s.update(since: 3).isEmptyDelta)
    }

    @Test("names follow renames and removals")
    func names() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        s.upsert(member(1, name: "a"), at: 2)
        #expect(s.member(named: "a")?.publicKey == fixedKey(1))
        s.upsert(member(1, name: "b"), at: 3)
        #expect(s.member(named: "a") == nil)
        #expect(s.member(named: "b")?.publicKey == fixedKey(1))
        s.upsert(member(2, name: "a"), at: 4)
        #expect(s.member(named: "a")?.publicKey == fixedKey(2))
        s.remove(fixedKey(1), at: 5)
        #expect(s.member(named: "b") == nil)
        #expect(s.member(named: "a")?.publicKey == fixedKey(2))
        s.remove(fixedKey(1), at: 6)  // removing an absent key changes nothing
        #expect(s.revision == 5)
    }

    @Test("full maps list members by address")
    func fullMap() {
        var s = TeamMapState(settings: settings, hub: hub, revision: 1)
        for k in [5, 1, 3] { s.upsert(member(k), at: 2) }
        let f = s.full()
        #expect(f.full)
        #expect(f.revision == 2)
        #expect(f.members?.map(\.publicKey) == [1, 3, 5].map(fixedKey))
        #expect(f.hub == hub)
        #expect(f.applied(to: [member(7)]) == f.members)
    }
}
