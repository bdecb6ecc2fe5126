import Foundation
import TeamwireCore

extension Registry {
    /// A node leaves its team by its own sealed request.
    public func leave(_ key: PublicKey) async -> Result<Empty, APIError> {
        let tid: Int64
        switch await membership(key) {
        case .failure(let e): return .failure(e)
        case .success(let t): tid = t
        }
        guard let name = state.withLock({ $0.teams[tid]?.map.entry(key)?.member.name }) else {
            return .failure(APIError(.nodeRemoved, "this node was removed from its team"))
        }
        return await removeNode(team: tid, key: key, actor: "node:\(name)", action: "node.leave", reason: "left the team").map { _ in Empty() }
    }

    /// Removes a node: its row goes, a tombstone records the removal (so its next request is told
    /// why), its address is freed, and every waiting member (the removed one too) is woken.
    func removeNode(team tid: Int64, key: PublicKey, actor: String, action: String, reason: String) async -> Result<NodeInfo, APIError> {
        let now = clock()
        let result = await write { tx -> Result<NodeInfo, APIError> in
            guard let (entry, settings, info) = self.state.withLock({ s -> (TeamMapState.Entry, TeamSettings, NodeInfo)? in
                guard let t = s.teams[tid], let e = t.map.entry(key) else { return nil }
                return (e, t.map.settings, s.nodeInfo(t, e))
            }) else {
                return .failure(APIError(.nodeNotFound, "that node is not (or no longer) a member"))
            }
            let rev = try tx.bumpRevision(team: tid)
            try tx.removeNode(team: tid, entry, at: rev, now: now, reason: reason)
            // A designation of the node (ROS master, discovery server) goes with it.
            var after = settings
            if after.rosMaster == entry.member.name { after.rosMaster = nil }
            if after.discoveryServer == entry.member.name { after.discoveryServer = nil }
            if after != settings { try tx.saveSettings(team: tid, after, at: rev) }
            try tx.appendAudit(time: now, actor: actor, team: settings.name, action: action, subject: entry.member.name, outcome: "ok",
                               detail: "address \(entry.member.address) freed, key \(key.base64Key)")
            return .success(info)
        }
        switch result {
        case .success(let r):
            if case .success(let info) = r {
                logger.info("node removed", metadata: ["team": "\(info.team)", "node": "\(info.name)", "by": "\(actor)"])
            }
            return r
        case .failure(let e): return .failure(e)
        }
    }
}

extension RuntimeState {
    func nodeInfo(_ t: TeamRuntime, _ e: TeamMapState.Entry) -> NodeInfo {
        let m = e.member
        return NodeInfo(team: t.map.settings.name, name: m.name, publicKey: m.publicKey, address: m.address, role: m.role,
                        endpoints: m.endpoints, observedEndpoint: m.observedEndpoint, enrolledAt: t.enrolledAt[m.publicKey] ?? 0,
                        lastSeen: lastSeen[m.publicKey], rosMaster: t.map.settings.rosMaster == m.name,
                        machineID: m.machineID)
    }
}
