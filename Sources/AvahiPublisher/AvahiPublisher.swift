import Logging
import TeamwireCore

/// Publishes the team members' names (address records) and the team's ROS master (a DNS-SD
/// service) on this machine's avahi-daemon, over D-Bus through libavahi-client.
///
/// The agent creates one and keeps it for its lifetime. Every call returns at once: the work
/// happens on Avahi's own thread (`avahi_threaded_poll`), which also reconnects whenever the
/// daemon or the system bus comes back and then publishes everything again. A missing daemon is
/// a warning, never an error: names simply wait for it.
public final class AvahiPublisher: Sendable {
    private let engine: AvahiEngine

    /// - Parameter collisionRetry: how long a host name that another host on the network owns
    ///   stays unpublished before it is probed for again.
    public init(logger: Logger, collisionRetry: Duration = .seconds(60)) {
        engine = AvahiEngine(logger: logger, collisionRetry: collisionRetry)
    }

    deinit { engine.shutdown() }

    /// Publishes `records` under `key` (a team name), replacing what that key published before.
    /// Records that did not change are left alone; a service whose TXT alone changed is updated
    /// in place, without probing again.
    public func publish(_ key: String, _ records: MDNSRecords) {
        engine.setDesired(key, records)
    }

    /// Removes everything `key` published (names another key also publishes stay).
    public func withdraw(_ key: String) {
        engine.setDesired(key, nil)
    }

    /// Withdraws every record and disconnects. Returns once avahi-daemon has dropped them.
    public func shutdown() {
        engine.shutdown()
    }

    /// What is published right now.
    public var status: AvahiStatus { engine.status }

    /// Waits until `condition` holds for the status, up to `timeout`; returns whether it did.
    public func waitUntil(timeout: Duration, _ condition: (AvahiStatus) -> Bool) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            if condition(status) { return true }
            if clock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// A snapshot of the publisher: the daemon's state, and every wanted record by label (a host
/// name as given, or `service name.type`, e.g. `ROS master (iris)._ros-master._tcp`).
public struct AvahiStatus: Sendable, Equatable {
    public enum Daemon: Sendable, Equatable {
        /// Not connected yet.
        case connecting
        /// The system D-Bus cannot be reached, or refused the connection (the text says why);
        /// retried with backoff up to 30 s.
        case unavailable(String)
        /// D-Bus is up but avahi-daemon is not; its arrival is noticed at once.
        case notRunning
        /// The daemon is establishing its own host name; publishing waits for it.
        case registering
        case running
        /// After `shutdown()`.
        case stopped
    }

    public var daemon: Daemon = .connecting
    /// Announced on the network after probing found no other owner.
    public var established: Set<String> = []
    /// Another host on the network owns the name: not published, probed for again later.
    public var colliding: Set<String> = []
    /// Wanted but not (yet) established: waiting for the daemon, probing, or failed.
    public var pending: Set<String> = []
    /// The wanted name that is avahi-daemon's own host name, if any: the daemon already
    /// publishes it (with this machine's LAN addresses), so it is left to the daemon.
    public var ownHostName: String?

    public init() {}

    public var isConnected: Bool { daemon == .running || daemon == .registering }

    static func serviceLabel(name: String, type: String) -> String { "\(name).\(type)" }
}
