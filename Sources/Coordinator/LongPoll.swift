import TeamwireCore

extension Registry {
    /// Answers "team map since revision R": at once if the team moved past R, else after the next
    /// change or `waitSeconds`, whichever comes first. The reply is the encoded MapUpdate, shared
    /// by every member asking about the same R at the same revision.
    public func mapUpdate(for key: PublicKey, _ req: MapRequest) async -> Result<[UInt8], APIError> {
        guard req.waitSeconds >= 0, req.waitSeconds <= MapRequest.maxWaitSeconds else {
            return .failure(APIError(.badRequest, "waitSeconds must be 0...\(MapRequest.maxWaitSeconds)"))
        }
        let tid: Int64
        switch await membership(key) {
        case .failure(let e): return .failure(e)
        case .success(let t): tid = t
        }
        if req.waitSeconds > 0, state.withLock({ !$0.draining && $0.teams[tid]?.map.revision == req.since }) {
            await waitForChange(team: tid, since: req.since, timeout: .seconds(req.waitSeconds))
        }
        return state.withLock { s -> Result<[UInt8], APIError> in
            guard s.teamOfKey[key] == tid else {
                return .failure(APIError(.nodeRemoved, "this node was removed from its team"))
            }
            return .success(s.withTeam(tid) { t in
                // A revision the history cannot answer (ahead of the team, or before its floor)
                // gets the full map, like 0: cache it under 0, so made-up revisions cannot grow the cache.
                let since = req.since > t.map.revision || req.since < t.map.floor ? 0 : req.since
                if let cached = t.encoded[since] { return cached }
                let bytes = t.encodedUpdate(since: since)
                t.encoded[since] = bytes
                return bytes
            })
        }
    }

    /// Parks until the team's revision differs from `since`, the timeout passes, or the task is
    /// cancelled (the client went away).
    func waitForChange(team tid: Int64, since: UInt64, timeout: Duration) async {
        let id = state.withLock { s -> Int in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                        let parked = self.state.withLock { s -> Bool in
                            // Cancellation sets the flag before running onCancel: checking it under
                            // the lock means a waiter cancelled before it parks never parks.
                            guard !Task.isCancelled, !s.draining, let t = s.teams[tid], t.map.revision == since else { return false }
                            s.teams[tid]!.waiters[id] = c
                            return true
                        }
                        if !parked { c.resume() }
                    }
                } onCancel: {
                    self.state.withLock { $0.teams[tid]?.waiters.removeValue(forKey: id) }?.resume()
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Answers every parked poll now (with whatever changed, often nothing) and parks no more:
    /// called on graceful shutdown before the HTTP servers stop.
    public func drainPolls() {
        let woken = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.draining = true
            var all: [CheckedContinuation<Void, Never>] = []
            for id in s.teams.keys {
                all.append(contentsOf: s.teams[id]!.waiters.values)
                s.teams[id]!.waiters.removeAll()
            }
            return all
        }
        if !woken.isEmpty { logger.info("answering parked polls before shutdown", metadata: ["polls": "\(woken.count)"]) }
        for c in woken { c.resume() }
    }

    /// A team's current revision and when the change that made it was committed.
    public func lastChange(team: String) -> (revision: UInt64, at: ContinuousClock.Instant)? {
        state.withLock { s in s.teamByName[team].flatMap { s.teams[$0] }.map { ($0.map.revision, $0.lastChangeAt) } }
    }

    public var stats: CoordinatorStats {
        state.withLock { s in
            CoordinatorStats(teams: s.teams.count, members: s.teamOfKey.count, waitingPolls: s.teams.values.reduce(0) { $0 + $1.waiters.count })
        }
    }

    /// Number of parked long polls (for the benchmark and tests).
    public var waitingPolls: Int { state.withLock { $0.teams.values.reduce(0) { $0 + $1.waiters.count } } }
}
