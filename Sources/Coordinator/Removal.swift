import Foundation
import GRDB
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
        let result = await write { db -> Result<NodeInfo, APIError> in
            guard let (entry, teamName, wasMaster, wasServer, info) = self.state.withLock({ s -> (TeamMapState.Entry, String, Bool, Bool, NodeInfo)? in
                guard let t = s.teams[tid], let e = t.map.entry(key) else { return nil }
                return (e, t.map.settings.name, t.map.settings.rosMaster == e.member.name, t.map.settings.discoveryServer == e.member.name, s.nodeInfo(t, e))
            }) else {
                return .failure(APIError(.nodeNotFound, "that node is not (or no longer) a member"))
            }
            let rev = try db.bumpRevision(team: tid)
            try db.execute(sql: "DELETE FROM node WHERE public_key = ?", arguments: [Data(key.rawValue)])
            try db.execute(sql: "INSERT INTO removal (team_id, public_key, name, created_revision, revision, removed_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           arguments: [tid, Data(key.rawValue), entry.member.name, Int64(entry.createdRevision), Int64(rev), now, reason])
            if wasMaster {
                try db.execute(sql: "UPDATE team SET ros_master = NULL, settings_revision = ? WHERE id = ?", arguments: [Int64(rev), tid])
            }
            if wasServer {
                try db.execute(sql: "UPDATE team SET discovery_server = NULL, settings_revision = ? WHERE id = ?", arguments: [Int64(rev), tid])
            }
            try db.appendAudit(time: now, actor: actor, team: teamName, action: action, subject: entry.member.name, outcome: "ok",
                               detail: "address \(entry.member.address) freed, key \(key.base64Key)")
            db.afterNextTransaction { _ in
                let woken = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
                    s.teamOfKey[key] = nil
                    s.sharedKeys[key] = nil
                    s.lastSeen[key] = nil
                    return s.withTeam(tid) { t in
                        t.map.remove(key, at: rev)
                        if wasMaster || wasServer {
                            var settings = t.map.settings
                            if wasMaster { settings.rosMaster = nil }
                            if wasServer { settings.discoveryServer = nil }
                            t.map.updateSettings(settings, at: rev)
                        }
                        t.allocator.release(entry.member.address)
                        t.nodeIDs[key] = nil
                        t.listenPorts[key] = nil
                        t.enrolledAt[key] = nil
                        t.hubObserved[key] = nil
                        return t.changed()
                    }
                }
                for c in woken { c.resume() }
                self.changes.bump()
            }
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
