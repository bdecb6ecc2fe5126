import Foundation
import TeamwireCore

/// One team as the hub serves it.
public struct HubTeam: Sendable, Equatable {
    public var name: String
    public var prefix: IPv4Prefix
    /// The hub's own overlay address in the team (the first address of the prefix).
    public var hubAddress: IPv4Address
    public var members: [HubMember]
}

/// One member as a peer of the hub: at its /32, first reached at its best endpoint candidate.
public struct HubMember: Sendable, Equatable {
    public var publicKey: PublicKey
    public var address: IPv4Address
    public var endpoint: Endpoint?
}

/// What the hub reads from the registry and writes back to it.
extension Registry {
    /// Every team with its members, by team name.
    public func hubTeams() -> [HubTeam] {
        state.withLock { s in
            s.teams.values.map { t in
                HubTeam(name: t.map.settings.name, prefix: t.map.settings.prefix, hubAddress: t.map.hub.address,
                        members: t.map.members.map { HubMember(publicKey: $0.publicKey, address: $0.address, endpoint: $0.endpointCandidates.first) })
            }.sorted { $0.name < $1.name }
        }
    }

    /// A stream that yields at once and then after every committed change to any team (bursts
    /// coalesce into one wake-up). Ends when the caller stops iterating.
    public func followChanges() -> AsyncStream<UInt64> { changes.follow() }

    /// Records the endpoints the hub's WireGuard learnt from members' packets as their observed
    /// endpoints. Only members whose observed endpoint changes are written, with one revision
    /// bump per team that changed; the team's members learn it through their long polls.
    /// Returns how many members changed.
    @discardableResult
    public func recordHubObservations(_ seen: [PublicKey: Endpoint]) async -> Int {
        // The hub's view is kept in memory for reports (Report.swift); the map changes only
        // where a member's observed endpoint differs, so a scan that learnt nothing costs nothing.
        let anyNew = state.withLock { s in
            var differs = false
            for (key, endpoint) in seen {
                guard let tid = s.teamOfKey[key], let m = s.teams[tid]?.map.entry(key)?.member else { continue }
                s.teams[tid]!.hubObserved[key] = endpoint
                if m.observedEndpoint != endpoint { differs = true }
            }
            return differs
        }
        guard anyNew else { return 0 }
        let result = await write { tx -> Int in
            // Decided inside the write: memory changes only after a commit, and commits are serial.
            var byTeam: [Int64: [(member: Member, listenPort: UInt16?)]] = [:]
            self.state.withLock { s in
                for (key, endpoint) in seen {
                    guard let tid = s.teamOfKey[key], var m = s.teams[tid]?.map.entry(key)?.member, m.observedEndpoint != endpoint else { continue }
                    m.observedEndpoint = endpoint
                    byTeam[tid, default: []].append((m, s.teams[tid]?.listenPorts[key]))
                }
            }
            for (tid, members) in byTeam {
                let rev = try tx.bumpRevision(team: tid)
                for m in members { try tx.updateNode(team: tid, m.member, listenPort: m.listenPort, token: nil, at: rev) }
            }
            return byTeam.values.reduce(0) { $0 + $1.count }
        }
        switch result {
        case .success(let n):
            if n > 0 { logger.debug("hub learnt member endpoints", metadata: ["changed": "\(n)"]) }
            return n
        case .failure:
            return 0
        }
    }
}
