/// How the joined teams came up, for systemd (`READY=1` and `STATUS=`, see SystemdNotify):
/// units ordered after the agent start once every team's interface is up and its ROS files
/// follow the current team map, or the cached one when the coordinator cannot be reached.
public struct AgentReadiness: Sendable, Equatable {
    /// Teams joined (on disk).
    public var joined: Int
    /// Teams whose interface is up.
    public var up: Int
    /// Running teams on their cached map: the coordinator has not answered (yet).
    public var onCache: [String]

    /// One line for `systemctl status`.
    public var status: String {
        if joined == 0, up == 0 { return "no team joined" }
        var s = up == joined ? "\(up) \(up == 1 ? "team" : "teams") up" : "\(up) of \(joined) teams up (see the journal)"
        if !onCache.isEmpty {
            s += onCache.count == up ? "; coordinator unreachable, running on cache"
                : "; coordinator unreachable for \(onCache.joined(separator: ", ")), running on cache"
        }
        return s
    }
}

extension Agent {
    /// Waits until every running team's first look at the coordinator is over (its answer
    /// applied, or the coordinator unreachable), but no longer than `timeout`: a coordinator
    /// that does not answer must not hold back the robot's ROS stack, which runs on the cache.
    public func settle(within timeout: Duration) async -> AgentReadiness {
        let deadline = ContinuousClock.now + timeout
        // A look at the sessions every 20 ms, for a few seconds at start only.
        while ContinuousClock.now < deadline, !Task.isCancelled {
            var pending = false
            for s in sessions.values {
                if await s.firstPoll == nil { pending = true }
            }
            if !pending { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return await readiness()
    }

    /// How the teams stand now.
    public func readiness() async -> AgentReadiness {
        var onCache: [String] = []
        for (team, s) in sessions {
            if await !s.current { onCache.append(team) }
        }
        return AgentReadiness(joined: Set(store.teams()).union(sessions.keys).count, up: sessions.count, onCache: onCache.sorted())
    }

    /// Tells systemd the agent is ready (`READY=1`, `STATUS=`) once its socket listens
    /// (`listening` yields) and the teams have settled; then, while a team runs on its cache,
    /// keeps `STATUS=` true until the coordinator answers (a look every 10 s, only then).
    public func announceReadiness(after listening: AsyncStream<Void>, settleTimeout: Duration = .seconds(5)) async {
        for await _ in listening { break }
        guard !Task.isCancelled else { return }
        var r = await settle(within: settleTimeout)
        guard !Task.isCancelled else { return }
        if !SystemdNotify.send([("READY", "1"), ("STATUS", r.status)]), SystemdNotify.isAvailable {
            logger.warning("cannot tell systemd the agent is ready (NOTIFY_SOCKET does not take the message); systemd will time the start out")
        }
        logger.info("ready", metadata: ["status": "\(r.status)"])
        while !r.onCache.isEmpty, SystemdNotify.isAvailable, !Task.isCancelled {
            try? await Task.sleep(for: .seconds(10))
            let now = await readiness()
            if now != r { SystemdNotify.send([("STATUS", now.status)]) }
            r = now
        }
    }

    /// A team came or went (join, leave, removal): systemd's STATUS= follows, once the new
    /// team's first look at the coordinator is over.
    func teamsChanged() {
        guard SystemdNotify.isAvailable else { return }
        Task { SystemdNotify.send([("STATUS", await settle(within: .seconds(5)).status)]) }
    }
}
