import TeamwireCore

extension RuntimeState {
    /// Performs one change on memory: after a commit (Registry.publish) and, at start, for every
    /// stored team, node and removal (Registry.init), so loading and live updates are one path.
    /// Pure: no I/O, no clock and no waking; the caller wakes the long polls of the changed team.
    mutating func apply(_ change: TeamChange) {
        switch change {
        case .teamCreated(let row):
            let hub = HubPeer(publicKey: hubKey, address: AddressAllocator.hubAddress(in: row.settings.prefix), endpoints: hubEndpoints)
            teams[row.id] = TeamRuntime(
                id: row.id, createdAt: row.createdAt,
                map: TeamMapState(settings: row.settings, hub: hub, revision: row.revision, settingsRevision: row.settingsRevision),
                allocator: AddressAllocator(prefix: row.settings.prefix))
            teamByName[row.settings.name] = row.id
        case .nodeAdded(let row):
            admit(row)
            withTeam(row.teamID) { $0.map.upsert(row.member, at: row.updatedRevision) }
        case .nodeLoaded(let row):
            admit(row)
            withTeam(row.teamID) { $0.map.load(.init(member: row.member, createdRevision: row.createdRevision, updatedRevision: row.updatedRevision)) }
        case .nodeUpdated(let tid, let member, let listenPort, let rev):
            withTeam(tid) { t in
                t.map.upsert(member, at: rev)
                t.listenPorts[member.publicKey] = listenPort
            }
        case .nodeRemoved(let tid, let key, let rev):
            teamOfKey[key] = nil
            sharedKeys[key] = nil
            lastSeen[key] = nil
            withTeam(tid) { t in
                if let address = t.map.entry(key)?.member.address { t.allocator.release(address) }
                t.map.remove(key, at: rev)
                t.listenPorts[key] = nil
                t.enrolledAt[key] = nil
                t.hubObserved[key] = nil
            }
        case .settingsChanged(let tid, let settings, let rev):
            withTeam(tid) { $0.map.updateSettings(settings, at: rev) }
        case .historyLoaded(let tid, let removals, let floor):
            withTeam(tid) { t in
                // Older removals are not in memory: deltas from before them become full maps.
                if let floor { t.map.raiseFloor(to: floor) }
                for r in removals { t.map.loadRemoval(key: r.key, createdRevision: r.createdRevision, revision: r.revision) }
                t.map.finishLoading()
            }
        }
    }

    /// What a node's row adds besides its map entry: its team, address, port and enrolment time.
    private mutating func admit(_ row: NodeRow) {
        let key = row.member.publicKey
        teamOfKey[key] = row.teamID
        withTeam(row.teamID) { t in
            t.allocator.reserve(row.member.address)
            t.listenPorts[key] = row.listenPort
            t.enrolledAt[key] = row.enrolledAt
        }
    }
}
