/// The path of one member, advanced by `handle` each time the agent reads the counters or hears
/// from the member.
///
/// Liveness is judged from the member's own WireGuard peer: anything received on it arrived
/// directly (relayed packets arrive on the hub's peer). A direct path is live while its rx
/// counter grows. When we send (tx grows) and nothing comes back, the agent sends a probe
/// each tick through the tunnel (a datagram to a closed port on the member's overlay address, so the
/// member's kernel answers with an ICMP error the same way back); after `failAfter` without an
/// answer the member goes to relay. From relay, direct is retried with backoff by a trial that
/// re-creates the peer at the next endpoint candidate with keepalive on, so the trial starts
/// with a handshake of its own. Off the direct path, anything received directly together with a
/// handshake completed since the path left direct makes it direct again: both ends then agree
/// quickly. Received bytes without a new handshake do not: on a one-way path (our answers are
/// lost) the member's handshake initiations still arrive, and following them would send our
/// traffic where it is dropped.
public struct PathMachine: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case direct
        /// Waiting for anything from the member on its next candidate endpoint.
        case trial(until: Double)
        /// Through the hub; next trial at `retryAt`.
        case relay(retryAt: Double)
        /// Through the hub for good: the team's mode is relay.
        case forcedRelay

        /// Through the hub and not trying direct.
        public var isRelay: Bool {
            switch self {
            case .relay, .forcedRelay: true
            case .direct, .trial: false
            }
        }
    }

    public let mode: PathMode
    public let policy: PathPolicy
    public private(set) var phase: Phase
    /// Last time anything arrived directly.
    public private(set) var lastAlive: Double?
    /// Index of the candidate endpoint the next (or current) trial uses.
    private var candidate = 0
    /// Wait before the next trial after a failure.
    private var backoff: Double
    /// tx when something last arrived (or when the path became direct).
    private var txAtAlive: UInt64 = 0
    /// When we first saw traffic sent that nothing answered (nil while answered).
    private var unansweredSince: Double?
    /// Counters at the previous reading (nil before the first).
    private var counters: PeerCounters?
    /// Set the peer's endpoint to candidate `candidate` at the next apply.
    private var pinEndpoint: Bool
    /// The latest handshake when the path last left direct: the way back needs a newer one.
    private var handshakeMark: Int64 = 0
    /// The member said (through the hub) that it now sends to us directly: until this time, look
    /// often for the handshake that proves it. The signal can overtake the packet that completes
    /// the handshake on our side, and meanwhile the member drops what we relay to it.
    private var peerDirectUntil: Double?

    /// `adopted`: a previous agent left this member's direct path working on the device (a
    /// restart or an upgrade adopts the interface). The path is then direct at once, on the
    /// endpoint WireGuard has, so traffic flowing through the restart never detours. If the path
    /// died meanwhile, the next readings find it as they find any failed direct path.
    public init(mode: PathMode, policy: PathPolicy, now: Double, adopted: Bool = false) {
        self.mode = mode
        self.policy = policy
        backoff = policy.firstRetry
        switch mode {
        case .relay:
            phase = .forcedRelay
            pinEndpoint = false
        case .auto where !adopted:
            // Relay carries traffic from the first packet while direct is tried.
            phase = .trial(until: now + policy.trialWindow)
            pinEndpoint = true
        case .auto, .direct:
            phase = .direct
            pinEndpoint = !adopted
        }
    }

    public var path: Path { phase == .direct ? .direct : .relay }

    public var isTrial: Bool {
        if case .trial = phase { return true }
        return false
    }

    /// Which of the member's `candidates` the peer uses: set while pinned (a trial, forced
    /// direct's rotation, a new direct peer), else whatever WireGuard learnt, that candidate
    /// only when it has none.
    public func endpointIntent(_ candidates: [Endpoint]) -> EndpointIntent {
        guard !candidates.isEmpty else { return .keepLearnt(initial: nil) }
        let e = candidates[candidate % candidates.count]
        return pinEndpoint ? .set(e) : .keepLearnt(initial: e)
    }

    public mutating func handle(_ event: PathEvent) -> [PathEffect] {
        switch event {
        case .countersRead(let c, let candidates, let quiet, let now):
            return read(c, candidates: candidates, quiet: quiet, now: now)
        case .peerChoseRelay(let now):
            return peerChoseRelay(now: now) ? [.pathChanged(from: .direct, to: .relay, signal: nil)] : []
        case .peerChoseDirect(let now):
            guard phase != .direct else { return [] }
            peerDirectUntil = now + policy.tick
            return []
        case .candidatesChanged(let now):
            // Try direct again soon, from the first candidate.
            candidate = 0
            backoff = policy.firstRetry
            if case .relay(let r) = phase { phase = .relay(retryAt: min(r, now + policy.firstRetry)) }
            return []
        case .endpointApplied:
            if phase == .direct { pinEndpoint = false }
            return []
        }
    }

    /// How often to look while a member's "direct" signal waits for its handshake.
    public static let lookSoon = 0.1

    /// When this member next needs a look, if the agent is otherwise idle.
    public func deadline(now: Double) -> Double {
        if phase != .direct, let until = peerDirectUntil, until > now { return now + Self.lookSoon }
        return switch phase {
        case .trial: now + policy.tick
        // Still due after a reading: it could not start (no counters), look again in a tick.
        case .relay(let r): r > now ? r : now + policy.tick
        case .forcedRelay: .infinity
        case .direct: unansweredSince == nil ? now + policy.idleTick : now + policy.tick
        }
    }

    /// When the agent should look at the counters next: soon while anything is active or in a
    /// trial, else at the earliest retry, never later than the idle tick.
    public static func nextCheck(_ machines: some Sequence<PathMachine>, activeNow: Bool, now: Double, policy: PathPolicy) -> Double {
        var next = now + (activeNow ? policy.tick : policy.idleTick)
        for m in machines { next = min(next, m.deadline(now: now)) }
        return max(next, now + min(policy.tick, 0.05))
    }

    // MARK: transitions

    private mutating func read(_ c: PeerCounters?, candidates: Int, quiet: Bool, now: Double) -> [PathEffect] {
        var effects: [PathEffect] = []
        let prev = counters
        counters = c
        guard let c else { return effects }
        // The first reading is a baseline: counters of a device adopted after a restart say nothing about now.
        let grewRx = prev.map { c.rx > $0.rx } ?? false
        let grewTx = prev.map { c.tx > $0.tx } ?? false
        // So is a reading after a gap, or with counters gone down (the peer was re-created): what
        // was sent before it is not judged, and later traffic is judged against these counters.
        if prev.map({ c.rx < $0.rx || c.tx < $0.tx }) ?? true { txAtAlive = c.tx }
        // Off the direct path, what we send to the member's own peer is WireGuard retrying its
        // handshake (every 5 s for 90 s after a trial), not traffic: no reason to look every tick.
        if grewRx || (grewTx && phase == .direct) { effects.append(.active) }
        if grewRx {
            lastAlive = now
            txAtAlive = c.tx
            unansweredSince = nil
        }
        let was = phase
        switch phase {
        case .forcedRelay:
            return effects
        case .direct:
            if lastAlive == nil {
                lastAlive = now
                txAtAlive = c.tx
            }
            // Nothing sent since the member was last heard from: nothing to judge.
            guard c.tx > txAtAlive else {
                unansweredSince = nil
                return effects
            }
            // Only our keepalive went out. The member's keepalives arrive as often, but its timer
            // and our looks drift apart, so one look in a few sees ours and not yet its own:
            // probing then would add wake-ups to an idle tunnel. Judge once none arrived for
            // longer than two of its intervals (traffic, when it starts, is judged at once).
            if quiet, unansweredSince == nil, let alive = lastAlive, now - alive < 2 * Double(policy.keepalive) + policy.idleTick / 2 {
                return effects
            }
            guard let since = unansweredSince else {
                unansweredSince = now
                effects.append(.probe)
                return effects
            }
            guard now - since >= policy.failAfter else {
                effects.append(.probe)
                return effects
            }
            candidate += 1
            unansweredSince = nil
            if mode == .direct {
                // Forced direct: only rotate through the candidates.
                pinEndpoint = candidates > 1
                lastAlive = now
                txAtAlive = c.tx
                guard pinEndpoint else { return effects }
            } else {
                fail(now: now)
            }
        case .trial(let until):
            if grewRx && c.handshake > handshakeMark {
                becomeDirect()
            } else if now >= until {
                candidate += 1
                fail(now: now)
            } else {
                return effects
            }
        case .relay(let retryAt):
            if grewRx && c.handshake > handshakeMark {
                becomeDirect()
            } else if now >= retryAt, candidates > 0 {
                phase = .trial(until: now + policy.trialWindow)
                pinEndpoint = true
                effects.append(.restartPeer)
                counters = PeerCounters(rx: 0, tx: 0)
            } else {
                // Nothing to try: wait as if the trial had failed (candidatesChanged ends the wait).
                if now >= retryAt { fail(now: now) }
                return effects
            }
        }
        effects.append(.pathChanged(from: Path(was), to: path, signal: news(from: was)))
        return effects
    }

    /// Whether the members should hear of this change. A failed trial is news too: the member
    /// may be direct to us on a path that only carries its packets to us, never ours back.
    private func news(from was: Phase) -> PathSignalMessage.Kind? {
        if phase.isRelay, !was.isRelay { return .relay }
        if was != .direct, phase == .direct { return .direct }
        return nil
    }

    /// Follow the member to the hub at once rather than keep sending on a path it no longer
    /// answers. Trials and retries go on as after our own failure.
    private mutating func peerChoseRelay(now: Double) -> Bool {
        guard mode == .auto, phase == .direct else { return false }
        unansweredSince = nil
        handshakeMark = max(handshakeMark, counters?.handshake ?? 0)
        // What arrived directly before the signal (up to an idle tick ago) says nothing about the
        // path now: the next reading is a baseline, or it would take the path straight back.
        counters = nil
        fail(now: now)
        return true
    }

    private mutating func fail(now: Double) {
        phase = .relay(retryAt: now + backoff)
        handshakeMark = max(handshakeMark, counters?.handshake ?? 0)
        backoff = min(backoff * 2, policy.maxRetry)
        pinEndpoint = false
    }

    private mutating func becomeDirect() {
        phase = .direct
        peerDirectUntil = nil
        backoff = policy.firstRetry
        pinEndpoint = false
    }
}

extension Path {
    init(_ phase: PathMachine.Phase) { self = phase == .direct ? .direct : .relay }
}
