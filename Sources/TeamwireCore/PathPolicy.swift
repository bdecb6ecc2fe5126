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
