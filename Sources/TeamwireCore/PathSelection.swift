/// Where traffic to one member goes right now.
public enum Path: String, Codable, Sendable {
    /// To the member's own endpoint: its /32 is on its own WireGuard peer.
    case direct
    /// Through the hub: the member's peer holds no allowed IPs, so the hub's peer (which
    /// covers the team prefix) carries the traffic.
    case relay
}

/// Timing of path selection, in seconds.
public struct PathPolicy: Sendable, Equatable {
    /// How often the agent looks at the counters while traffic flows or a trial runs.
    public var tick: Double = 1
    /// How often it looks when everything is idle: the keepalive interval, never faster.
    public var idleTick: Double = 25
    /// A direct path that carried our traffic but brought nothing back (probes included) for
    /// this long has failed.
    public var failAfter: Double = 2
    /// How long one attempt at a direct path waits for anything from the member.
    public var trialWindow: Double = 3
    /// First wait before retrying direct after a failure; doubled per failure up to `maxRetry`.
    public var firstRetry: Double = 2
    public var maxRetry: Double = 30
    /// Persistent keepalive of direct peers and the hub (keeps NAT mappings open).
    public var keepalive: UInt16 = 25
    /// Keepalive during a trial: turning it on sends a packet at once (WireGuard sends one when
    /// the interval goes from 0 to non-zero), which starts a handshake.
    public var trialKeepalive: UInt16 = 1

    public init() {}
    public static let standard = PathPolicy()
}

/// Transfer counters of one WireGuard peer, and when its latest handshake completed.
public struct PeerCounters: Sendable, Equatable {
    public var rx: UInt64
    public var tx: UInt64
    /// Wall-clock nanoseconds of the latest completed handshake; 0 if none. A completed handshake
    /// proves packets crossed both ways (the initiator got the answer, the responder the first
    /// packet of the session). Received bytes alone do not: they may be the member's handshake
    /// initiations, which keep arriving when every answer to them is lost.
    public var handshake: Int64
    public init(rx: UInt64, tx: UInt64, handshake: Int64 = 0) {
        self.rx = rx
        self.tx = tx
        self.handshake = handshake
    }
}

/// The path state of one member, advanced by `step` each time the agent reads the counters.
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
public struct PathState: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        case direct
        /// Waiting for anything from the member on its next candidate endpoint.
        case trial(until: Double)
        /// Through the hub; next trial at `retryAt`.
        case relay(retryAt: Double)

        public var isRelay: Bool {
            if case .relay = self { return true }
            return false
        }
    }

    public var phase: Phase
    /// Index of the candidate endpoint the next (or current) trial uses.
    public var candidate = 0
    /// Wait before the next trial after a failure.
    public var backoff: Double
    /// Last time anything arrived directly.
    public var lastAlive: Double?
    /// tx when something last arrived (or when the path became direct).
    public var txAtAlive: UInt64 = 0
    /// When we first saw traffic sent that nothing answered (nil while answered).
    public var unansweredSince: Double?
    /// Counters at the previous step (nil before the first).
    public var counters: PeerCounters?
    /// Set the peer's endpoint to candidate `candidate` at the next apply.
    public var pinEndpoint: Bool
    /// The latest handshake when the path last left direct: the way back needs a newer one.
    public var handshakeMark: Int64 = 0
    /// The member said (through the hub) that it now sends to us directly: until this time, look
    /// often for the handshake that proves it. The signal can overtake the packet that completes
    /// the handshake on our side, and meanwhile the member drops what we relay to it.
    public var peerDirectUntil: Double?

    public init(mode: PathMode, now: Double, policy: PathPolicy = .standard) {
        backoff = policy.firstRetry
        switch mode {
        case .auto:
            // Relay carries traffic from the first packet while direct is tried.
            phase = .trial(until: now + policy.trialWindow)
            pinEndpoint = true
        case .direct:
            phase = .direct
            pinEndpoint = true
        case .relay:
            phase = .relay(retryAt: .infinity)
            pinEndpoint = false
        }
    }

    /// The state of a member whose direct path a previous agent left working on the device (a
    /// restart or an upgrade adopts the interface): direct at once, on the endpoint WireGuard
    /// has, so traffic flowing through the restart never detours. If the path died meanwhile,
    /// the next steps find it as they find any failed direct path.
    public static func adoptedDirect(mode: PathMode, now: Double, policy: PathPolicy = .standard) -> PathState {
        var s = PathState(mode: mode, now: now, policy: policy)
        if mode != .relay {
            s.phase = .direct
            s.pinEndpoint = false
        }
        return s
    }

    public var path: Path { phase == .direct ? .direct : .relay }

    public var isTrial: Bool {
        if case .trial = phase { return true }
        return false
    }

    /// What the agent must do after a step besides re-applying the peer.
    public struct Action: Sendable, Equatable {
        /// Send a probe through the tunnel to the member's overlay address.
        public var probe = false
        /// The phase changed (so did the peer's configuration).
        public var changed = false
        /// Counters moved: traffic flows, keep ticking fast.
        public var active = false
        /// Re-create the member's peer before applying it: a trial starts a handshake of its
        /// own (a live session would only carry a keepalive one way). Its counters start at zero.
        public var restart = false
    }

    /// Advances the state with the counters just read. `candidates` is how many endpoint
    /// candidates the member has. `quiet`: no packet crossed the interface since the last step
    /// (the agent's doorbell stood armed), so the counters moved only by WireGuard's own
    /// keepalives and handshakes.
    public mutating func step(_ c: PeerCounters?, candidates: Int, mode: PathMode, now: Double, policy: PathPolicy = .standard, quiet: Bool = false) -> Action {
        var action = Action()
        let prev = counters
        counters = c
        guard let c else { return action }
        // The first reading is a baseline: counters of a device adopted after a restart say nothing about now.
        let grewRx = prev.map { c.rx > $0.rx } ?? false
        let grewTx = prev.map { c.tx > $0.tx } ?? false
        // So is a reading after a gap, or with counters gone down (the peer was re-created): what
        // was sent before it is not judged, and later traffic is judged against these counters.
        if prev.map({ c.rx < $0.rx || c.tx < $0.tx }) ?? true { txAtAlive = c.tx }
        // Off the direct path, what we send to the member's own peer is WireGuard retrying its
        // handshake (every 5 s for 90 s after a trial), not traffic: no reason to look every tick.
        action.active = grewRx || (grewTx && phase == .direct)
        if grewRx {
            lastAlive = now
            txAtAlive = c.tx
            unansweredSince = nil
        }
        switch (mode, phase) {
        case (.relay, _):
            return action
        case (_, .direct):
            if lastAlive == nil {
                lastAlive = now
                txAtAlive = c.tx
            }
            // Nothing sent since the member was last heard from: nothing to judge.
            guard c.tx > txAtAlive else {
                unansweredSince = nil
                return action
            }
            // Only our keepalive went out. The member's keepalives arrive as often, but its timer
            // and our looks drift apart, so one look in a few sees ours and not yet its own:
            // probing then would add wake-ups to an idle tunnel. Judge once none arrived for
            // longer than two of its intervals (traffic, when it starts, is judged at once).
            if quiet, unansweredSince == nil, let alive = lastAlive, now - alive < 2 * Double(policy.keepalive) + policy.idleTick / 2 {
                return action
            }
            guard let since = unansweredSince else {
                unansweredSince = now
                action.probe = true
                return action
            }
            if now - since >= policy.failAfter {
                candidate += 1
                unansweredSince = nil
                if mode == .direct {
                    // Forced direct: only rotate through the candidates.
                    pinEndpoint = candidates > 1
                    lastAlive = now
                    txAtAlive = c.tx
                    action.changed = pinEndpoint
                } else {
                    fail(now: now, policy: policy)
                    action.changed = true
                }
            } else {
                action.probe = true
            }
        case (_, .trial(let until)):
            if grewRx && c.handshake > handshakeMark {
                becomeDirect(policy: policy)
                action.changed = true
            } else if now >= until {
                candidate += 1
                fail(now: now, policy: policy)
                action.changed = true
            }
        case (_, .relay(let retryAt)):
            if grewRx && c.handshake > handshakeMark {
                becomeDirect(policy: policy)
                action.changed = true
            } else if now >= retryAt {
                if candidates > 0 {
                    phase = .trial(until: now + policy.trialWindow)
                    pinEndpoint = true
                    action.changed = true
                    action.restart = true
                    counters = PeerCounters(rx: 0, tx: 0)
                } else {
                    // Nothing to try: wait as if the trial had failed (candidatesChanged ends the wait).
                    fail(now: now, policy: policy)
                }
            }
        }
        return action
    }

    /// The member told us (through the hub) that its direct path to us failed: follow it to the
    /// hub at once rather than keep sending on a path it no longer answers. Returns whether
    /// the phase changed. Trials and retries go on as after our own failure.
    public mutating func peerChoseRelay(mode: PathMode, now: Double, policy: PathPolicy = .standard) -> Bool {
        guard mode == .auto, phase == .direct else { return false }
        unansweredSince = nil
        handshakeMark = max(handshakeMark, counters?.handshake ?? 0)
        // What arrived directly before the signal (up to an idle tick ago) says nothing about the
        // path now: the next reading is a baseline, or it would take the path straight back.
        counters = nil
        fail(now: now, policy: policy)
        return true
    }

    /// The member told us (through the hub) that a direct handshake with us worked: look for it
    /// every `lookSoon` seconds for the next tick. Nothing changes until the counters show it.
    public mutating func peerChoseDirect(now: Double, policy: PathPolicy = .standard) {
        guard phase != .direct else { return }
        peerDirectUntil = now + policy.tick
    }

    /// How often to look while a member's "direct" signal waits for its handshake.
    public static let lookSoon = 0.1

    /// The member's endpoints changed (a new report, or the hub saw it elsewhere): try direct
    /// again soon, from the first candidate.
    public mutating func candidatesChanged(now: Double, policy: PathPolicy = .standard) {
        candidate = 0
        backoff = policy.firstRetry
        // Forced relay (retryAt = infinity) never retries.
        if case .relay(let r) = phase, r < .infinity {
            phase = .relay(retryAt: min(r, now + policy.firstRetry))
        }
    }

    private mutating func fail(now: Double, policy: PathPolicy) {
        phase = .relay(retryAt: now + backoff)
        handshakeMark = max(handshakeMark, counters?.handshake ?? 0)
        backoff = min(backoff * 2, policy.maxRetry)
        pinEndpoint = false
    }

    private mutating func becomeDirect(policy: PathPolicy) {
        phase = .direct
        peerDirectUntil = nil
        backoff = policy.firstRetry
        pinEndpoint = false
    }

    /// When this member next needs a look, if the agent is otherwise idle.
    public func deadline(now: Double, policy: PathPolicy = .standard) -> Double {
        if phase != .direct, let until = peerDirectUntil, until > now { return now + Self.lookSoon }
        return switch phase {
        case .trial: now + policy.tick
        // Still due after a step: it could not start (no counters), look again in a tick.
        case .relay(let r): r > now ? r : now + policy.tick
        case .direct: unansweredSince == nil ? now + policy.idleTick : now + policy.tick
        }
    }
}

/// When the agent should look at the counters next: soon while anything is active or in a
/// trial, else at the earliest retry, never later than the idle tick.
public func nextPathCheck(states: some Sequence<PathState>, activeNow: Bool, now: Double, policy: PathPolicy = .standard) -> Double {
    var next = now + (activeNow ? policy.tick : policy.idleTick)
    for s in states { next = min(next, s.deadline(now: now, policy: policy)) }
    return max(next, now + min(policy.tick, 0.05))
}
