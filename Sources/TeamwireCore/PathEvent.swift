/// What happens to one member's path: the input of `PathMachine.handle`.
public enum PathEvent: Sendable, Equatable {
    /// The agent read the member's peer counters (nil: the peer is not on the device).
    /// `candidates`: how many endpoint candidates the member has. `quiet`: no packet crossed the
    /// interface since the last look (the agent's doorbell stood armed), so the counters moved
    /// only by WireGuard's own keepalives and handshakes.
    case countersRead(PeerCounters?, candidates: Int, quiet: Bool, now: Double)
    /// The member told us (through the hub) that its direct path to us failed.
    case peerChoseRelay(now: Double)
    /// The member told us (through the hub) that a direct handshake with us worked.
    case peerChoseDirect(now: Double)
    /// The member's endpoints changed (a new report, or the hub saw it elsewhere).
    case candidatesChanged(now: Double)
    /// The device now holds the pinned endpoint of a direct peer: from here on WireGuard's
    /// learnt endpoint (NAT, roaming) is kept.
    case endpointApplied
}

/// What the agent must do after a `PathEvent`.
public enum PathEffect: Sendable, Equatable {
    /// Counters moved: traffic flows, keep looking every tick.
    case active
    /// Send a probe through the tunnel to the member's overlay address.
    case probe
    /// Re-create the member's peer before applying it: a trial starts a handshake of its own (a
    /// live session would only carry a keepalive one way). Its counters start at zero.
    case restartPeer
    /// The peer's configuration changed (its phase, or the endpoint forced direct rotates to).
    /// `signal`: news the member should hear through the hub, if any.
    case pathChanged(from: Path, to: Path, signal: PathSignalMessage.Kind?)
}
