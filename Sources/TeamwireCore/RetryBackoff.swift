/// How long a node waits before asking the coordinator again after a failed request.
///
/// A coordinator that was answering moments ago is most likely restarting (systemd's
/// `RestartSec=2`), so the node asks again within half a second for `fastWindow` seconds and
/// re-attaches as soon as it is back. A coordinator gone for longer is asked with a doubling,
/// jittered delay up to `maximum`, so a campus of robots neither floods a dead server nor
/// reconnects in lockstep. Any sign of life resets it: an answer, or a connection the
/// coordinator accepted (even if it then broke, as a parked long poll does when the process dies).
///
/// Pure: the caller supplies the clock (seconds) and the jitter (0..<1).
public struct RetryBackoff: Sendable, Equatable {
    public static let fastWindow = 30.0
    public static let fastDelay = 0.5
    public static let initial = 1.0
    public static let maximum = 30.0

    /// When the coordinator last showed it was there.
    public private(set) var lastAlive: Double?
    private var slowDelay = initial

    public init(lastAlive: Double? = nil) {
        self.lastAlive = lastAlive
    }

    /// The coordinator answered, or accepted a connection.
    public mutating func alive(at now: Double) {
        lastAlive = now
        slowDelay = Self.initial
    }

    /// Seconds to wait before the next attempt, given a failure at `now`.
    public mutating func delay(now: Double, jitter: Double) -> Double {
        let j = 0.5 + min(max(jitter, 0), 1)  // 0.5 ..< 1.5
        if let a = lastAlive, now - a < Self.fastWindow {
            return Self.fastDelay * j
        }
        let d = slowDelay * j
        slowDelay = min(slowDelay * 2, Self.maximum)
        return d
    }
}
