@testable import Coordinator
import Foundation
import Synchronization
import Testing
import TeamwireCore
import TestSupport

/// Load-by-replay equals live application: random writes (teams, enrolments, re-enrolments of
/// removed keys, renames carrying designations, reports, hub sightings, settings, removals and
/// refusals) go through the SQLite repository while their published changes are applied live;
/// then memory rebuilt from the file must equal the live memory, and both must bring a node at
/// any earlier revision to the current members.
@Suite struct ReplayPropertyTests {
    static let hubKey = testKey(250)

    /// One write, decided from the live state before it runs.
    enum Op: Sendable {
        case createTeam(TeamSettings)
        case add(team: Int64, Member, listenPort: UInt16?)
        case update(team: Int64, [(member: Member, listenPort: UInt16?)], settings: TeamSettings?)
        case remove(team: Int64, TeamMapState.Entry, settings: TeamSettings?)
        case settings(team: Int64, TeamSettings)
        /// Writes a settings change, then is refused: only its audit entry stays.
        case refused(team: Int64, TeamSettings)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func replayAtStartEqualsLiveApplication(seed: UInt64) async throws {
        let dir = makeTempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try Store(path: dir + "/coordinator.db")
        let live = Mutex(RuntimeState(hubKey: Self.hubKey, hubEndpoints: [Endpoint("192.0.2.1:51820")!]))
        // The members each team had at each revision it reached.
        let history = Mutex<[Int64: [UInt64: [Member]]]>([:])
        let publish: @Sendable ([TeamChange]) -> Void = { changes in
            live.withLock { s in
                for c in changes { s.apply(c) }
                for tid in Set(changes.map(\.team)) {
                    let map = s.teams[tid]!.map
                    history.withLock { $0[tid, default: [:]][map.revision] = map.members }
                }
            }
        }
        var rng = SeededRNG(seed: seed)
        var removedKeys: [PublicKey] = []
        for step in 0..<150 {
            let now = Int64(10_000 + step)
            let op = live.withLock { s in Self.randomOp(s, step: step, removedKeys: removedKeys, &rng) }
            if case .remove(_, let entry, _) = op { removedKeys.append(entry.member.publicKey) }
            if case .add(_, let m, _) = op { removedKeys.removeAll { $0 == m.publicKey } }
            let revisionBefore = live.withLock { s in s.teams.mapValues(\.map.revision) }
            try await store.write({ tx in try Self.perform(op, tx, now: now) }, published: publish)
            if case .refused = op {
                #expect(live.withLock { s in s.teams.mapValues(\.map.revision) } == revisionBefore, "a refusal changed memory")
            }
        }

        let liveState = live.withLock { $0 }
        #expect(liveState.teams.count == 3 && liveState.teamOfKey.count > 10, "the random writes reached too little: \(RuntimeSnapshot(liveState))")
        for historyPerTeam in [3, Registry.historyPerTeam] {
            var loaded = RuntimeState(hubKey: Self.hubKey, hubEndpoints: [Endpoint("192.0.2.1:51820")!])
            for c in try store.load(historyPerTeam: historyPerTeam) { loaded.apply(c) }
            #expect(RuntimeSnapshot(loaded) == RuntimeSnapshot(liveState), "seed \(seed), history \(historyPerTeam)")
            for (tid, revisions) in history.withLock({ $0 }) {
                let current = liveState.teams[tid]!.map.members
                for (since, held) in revisions {
                    #expect(liveState.teams[tid]!.map.update(since: since).applied(to: held) == current, "live, team \(tid) since \(since)")
                    #expect(loaded.teams[tid]!.map.update(since: since).applied(to: held) == current, "loaded, team \(tid) since \(since)")
                }
            }
        }
    }

    static func randomOp(_ s: RuntimeState, step: Int, removedKeys: [PublicKey], _ rng: inout SeededRNG) -> Op {
        if s.teams.count < 3, s.teams.isEmpty || Int.random(in: 0..<20, using: &rng) == 0 {
            let k = s.teams.count
            return .createTeam(TeamSettings(name: "team\(k)", prefix: IPv4Prefix("100.64.\(k).0/28")!, mode: .auto, rosDomainID: k + 1))
        }
        let tid = s.teams.keys.sorted().randomElement(using: &rng)!
        var t = s.teams[tid]!
        let next = t.allocator.peek()
        let entries = t.map.entries.values.sorted { $0.member.address < $1.member.address }
        let settings = t.map.settings
        func endpoint() -> Endpoint { Endpoint(host: .ipv4(IPv4Address(0xC633_6400 | UInt32.random(in: 1...254, using: &rng))), port: UInt16.random(in: 1024...65535, using: &rng)) }
        func port() -> UInt16? { Bool.random(using: &rng) ? nil : UInt16.random(in: 1...65535, using: &rng) }
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<4 where next != nil:
            let address = next!
            // Sometimes a key removed earlier comes back (tombstones and a new incarnation).
            let reused = removedKeys.filter { s.teamOfKey[$0] == nil }.randomElement(using: &rng)
            let key = Bool.random(using: &rng) ? reused ?? PublicKey.random(&rng) : PublicKey.random(&rng)
            let machine = Bool.random(using: &rng) ? String(repeating: "5e", count: MachineID.hashLength / 2) : nil
            return .add(team: tid, Member(name: "n\(step)", publicKey: key, address: address, role: Bool.random(using: &rng) ? .robot : .laptop,
                                          endpoints: (0..<Int.random(in: 0...3, using: &rng)).map { _ in endpoint() },
                                          observedEndpoint: Bool.random(using: &rng) ? endpoint() : nil, machineID: machine), listenPort: port())
        case 4..<6 where !entries.isEmpty:
            // A report, a re-enrolment with a rename, or the hub seeing several members at once.
            var after = settings
            let chosen = entries.shuffled(using: &rng).prefix(Int.random(in: 1...3, using: &rng))
            let members = chosen.map { e -> (member: Member, listenPort: UInt16?) in
                var m = e.member
                m.endpoints = [endpoint()]
                m.observedEndpoint = endpoint()
                if Int.random(in: 0..<3, using: &rng) == 0 {
                    m.name = "r\(step)-\(m.address.value & 0xff)"
                    if after.rosMaster == e.member.name { after.rosMaster = m.name }
                    if after.discoveryServer == e.member.name { after.discoveryServer = m.name }
                }
                return (m, port())
            }
            return .update(team: tid, members, settings: after == settings ? nil : after)
        case 6..<8 where !entries.isEmpty:
            let e = entries.randomElement(using: &rng)!
            var after = settings
            if after.rosMaster == e.member.name { after.rosMaster = nil }
            if after.discoveryServer == e.member.name { after.discoveryServer = nil }
            return .remove(team: tid, e, settings: after == settings ? nil : after)
        case 8:
            var after = settings
            after.rmwImplementation = "rmw_refused_\(step)"
            return .refused(team: tid, after)
        default:
            var after = settings
            after.rosMaster = entries.randomElement(using: &rng)?.member.name
            after.discoveryServer = entries.randomElement(using: &rng)?.member.name
            after.rosDiscovery = RosDiscovery.allCases.randomElement(using: &rng)!
            after.rmwImplementation = [nil, "rmw_fastrtps_cpp", "rmw_cyclonedds_cpp"].randomElement(using: &rng)!
            return .settings(team: tid, after)
        }
    }

    /// The writes the registry makes for each kind of request (Enrolment, Report, HubRegistry,
    /// Removal, TeamSettingsAdmin), in the same order.
    static func perform(_ op: Op, _ tx: any TeamWriting, now: Int64) throws {
        let token = TokenID("0123456789abcdef")!
        switch op {
        case .createTeam(let settings):
            try tx.createTeam(settings, now: now)
        case .add(let tid, let m, let port):
            try tx.addNode(team: tid, m, listenPort: port, token: token, at: try tx.bumpRevision(team: tid), now: now)
        case .update(let tid, let members, let settings):
            let rev = try tx.bumpRevision(team: tid)
            for m in members { try tx.updateNode(team: tid, m.member, listenPort: m.listenPort, token: nil, at: rev) }
            if let settings { try tx.saveSettings(team: tid, settings, at: rev) }
        case .remove(let tid, let entry, let settings):
            let rev = try tx.bumpRevision(team: tid)
            try tx.removeNode(team: tid, entry, at: rev, now: now, reason: "test")
            if let settings { try tx.saveSettings(team: tid, settings, at: rev) }
        case .settings(let tid, let settings):
            try tx.saveSettings(team: tid, settings, at: try tx.bumpRevision(team: tid))
        case .refused(let tid, let settings):
            let attempt = try tx.refusable { () throws -> TeamChange in
                let saved = try tx.saveSettings(team: tid, settings, at: try tx.bumpRevision(team: tid))
                if now > 0 { throw APIError(.invalidArgument, "refused after writing") }
                return saved
            }
            if case .failure(let e) = attempt {
                try tx.appendAudit(time: now, actor: "test", team: nil, action: "team.settings", subject: settings.name, outcome: e.code.rawValue, detail: nil)
            }
        }
    }
}

extension PublicKey {
    static func random(_ rng: inout SeededRNG) -> PublicKey { try! PublicKey(rawValue: rng.bytes(32)) }
}
