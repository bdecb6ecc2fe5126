@testable import Coordinator
import TeamwireCore

/// What the registry's memory holds about its teams, comparable: how the tests tell whether two
/// ways of building RuntimeState (live changes, replay at start) reached the same state.
/// Caches of requests (replay window, shared keys, last seen) and long-poll waiters are left out.
struct RuntimeSnapshot: Equatable, CustomStringConvertible {
    struct Team: Equatable {
        var createdAt: Int64
        var settings: TeamSettings
        var hub: HubPeer
        var revision: UInt64
        var settingsRevision: UInt64
        var entries: [PublicKey: TeamMapState.Entry]
        var byName: [String: PublicKey]
        var usedAddresses: [IPv4Address]
        var nextAddress: IPv4Address?
        var listenPorts: [PublicKey: UInt16]
        var enrolledAt: [PublicKey: Int64]
    }

    var teams: [Int64: Team]
    var teamByName: [String: Int64]
    var teamOfKey: [PublicKey: Int64]

    init(_ s: RuntimeState) {
        teams = s.teams.mapValues { t in
            var allocator = t.allocator
            let prefix = t.map.settings.prefix
            return Team(
                createdAt: t.createdAt, settings: t.map.settings, hub: t.map.hub, revision: t.map.revision, settingsRevision: t.map.settingsRevision,
                entries: t.map.entries,
                byName: Dictionary(uniqueKeysWithValues: t.map.entries.values.compactMap { e in
                    t.map.member(named: e.member.name).map { (e.member.name, $0.publicKey) }
                }),
                usedAddresses: (prefix.first.value...prefix.last.value).map(IPv4Address.init).filter { t.allocator.isUsed($0) },
                nextAddress: allocator.peek(),
                listenPorts: t.listenPorts, enrolledAt: t.enrolledAt)
        }
        teamByName = s.teamByName
        teamOfKey = s.teamOfKey
    }

    var description: String {
        teams.sorted { $0.key < $1.key }.map { id, t in
            "team \(id) \(t.settings.name) rev \(t.revision)/\(t.settingsRevision): " + t.entries.values.map { "\($0.member.name)@\($0.member.address) c\($0.createdRevision) u\($0.updatedRevision)" }.sorted().joined(separator: ", ")
        }.joined(separator: "\n")
    }
}

/// A key from one byte, for readable tests.
func testKey(_ n: UInt8) -> PublicKey { try! PublicKey(rawValue: [UInt8](repeating: n, count: 32)) }
