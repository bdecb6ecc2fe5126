import CAvahi
import Glibc
import Logging
import Synchronization
import TeamwireCore

/// The Avahi side of `AvahiPublisher`: one libavahi-client connection, run by Avahi's own thread.
///
/// Threading: callers touch only `wanted` and `snapshot` (mutexes) and wake the thread through a
/// pipe. Everything else is confined to Avahi's thread, whose callbacks run with the poll lock
/// held; before `avahi_threaded_poll_start` and after `avahi_threaded_poll_stop` the owner has
/// it alone. Hence `@unchecked Sendable`: the confinement is by thread, not by the type system.
/// All decisions happen in `step()`: callbacks only record what happened and ask for a step,
/// so no avahi object is ever freed from inside its own callback.
final class AvahiEngine: @unchecked Sendable {
    let logger: Logger
    let collisionRetry: Duration
    let clock = ContinuousClock()

    private struct Wanted {
        var byKey: [String: MDNSRecords] = [:]
        var stopped = false
    }
    private let wanted = Mutex(Wanted())
    private let snapshot = Mutex(AvahiStatus())
    private let wake: WakePipe?
    private let poll: OpaquePointer?
    private let api: UnsafePointer<AvahiPoll>?

    // Avahi's thread only.
    private var watch: OpaquePointer?
    private var timer: OpaquePointer?
    private(set) var client: OpaquePointer?
    private var clientState: AvahiClientState?
    var entries: [RecordID: Entry] = [:]
    var owners: [OpaquePointer: RecordID] = [:]
    private var daemon: AvahiStatus.Daemon = .connecting
    /// avahi-daemon's own host name ("robot1.local"), lowercased: it already owns that name
    /// (with the LAN addresses), so a member record under it is left to the daemon.
    private var ownHostName: String?
    private var reconnectAt: ContinuousClock.Instant
    private var reconnectDelay: Duration = .seconds(1)
    /// One warning per outage; cleared when the daemon runs again.
    private var outageWarned = false
    private var loggedConflicts: [String] = []
    private var loggedOwnName = false
    private var needsStep = false
    private var inStep = false

    init(logger: Logger, collisionRetry: Duration) {
        self.logger = logger
        self.collisionRetry = collisionRetry
        reconnectAt = clock.now
        wake = WakePipe()
        poll = wake == nil ? nil : avahi_threaded_poll_new()
        api = poll.map { avahi_threaded_poll_get($0) }
        guard let api, let wake, let poll else {
            logger.error("cannot start the Avahi thread (out of file descriptors or memory): member names are not published over mDNS")
            snapshot.withLock { $0.daemon = .stopped }
            wanted.withLock { $0.stopped = true }
            return
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        watch = api.pointee.watch_new(api, wake.readFD, AVAHI_WATCH_IN, { _, _, _, context in
            AvahiEngine.from(context).woken()
        }, context)
        // The first step (connecting) already runs on Avahi's thread.
        var now = timeval()
        avahi_elapse_time(&now, 0, 0)
        timer = api.pointee.timeout_new(api, &now, { _, context in
            AvahiEngine.from(context).step()
        }, context)
        if avahi_threaded_poll_start(poll) < 0 {
            logger.error("cannot start the Avahi thread: member names are not published over mDNS")
            snapshot.withLock { $0.daemon = .stopped }
        }
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> AvahiEngine {
        Unmanaged<AvahiEngine>.fromOpaque(context!).takeUnretainedValue()
    }

    var status: AvahiStatus { snapshot.withLock { $0 } }

    // MARK: - Any thread

    func setDesired(_ key: String, _ records: MDNSRecords?) {
        let stopped = wanted.withLock { w in
            w.byKey[key] = records
            return w.stopped
        }
        if !stopped { wake?.signal() }
    }

    func shutdown() {
        let already = wanted.withLock { w in
            defer { w.stopped = true }
            return w.stopped
        }
        guard !already, let poll, let api else { return }
        avahi_threaded_poll_stop(poll)
        // Avahi's thread has exited: this thread owns the client now. Freeing each group is a
        // synchronous D-Bus call, so the daemon has withdrawn the names when this returns.
        let count = entries.count
        if let client {
            if isConnected { for entry in entries.values { freeGroup(entry) } }
            avahi_client_free(client)
        }
        client = nil
        entries = [:]
        owners = [:]
        if let timer { api.pointee.timeout_free(timer) }
        if let watch { api.pointee.watch_free(watch) }
        avahi_threaded_poll_free(poll)
        wake?.close()
        snapshot.withLock { $0 = AvahiStatus(); $0.daemon = .stopped }
        logger.info("mDNS: publisher stopped, \(count) record(s) withdrawn")
    }

    // MARK: - Avahi's thread

    private var isConnected: Bool {
        clientState == AVAHI_CLIENT_S_RUNNING || clientState == AVAHI_CLIENT_S_REGISTERING || clientState == AVAHI_CLIENT_S_COLLISION
    }

    private func woken() {
        wake?.drain()
        step()
    }

    /// Asks for a step soon: at the end of the running one, or on the next loop iteration.
    func requestStep() {
        needsStep = true
        if !inStep { arm(at: clock.now) }
    }

    /// Brings the daemon in line with what is wanted: reconnects, then publishes the difference.
    private func step() {
        inStep = true
        needsStep = false
        defer { inStep = false }
        let now = clock.now
        let want = DesiredRecords(wanted.withLock { $0.byKey })
        for line in want.conflicts where !loggedConflicts.contains(line) {
            logger.warning("mDNS: \(line)")
        }
        loggedConflicts = want.conflicts

        if let client, clientState == AVAHI_CLIENT_FAILURE {
            let why = Self.text(avahi_client_errno(client))
            logger.warning("mDNS: lost the connection to avahi-daemon (\(why)): member names are not published over mDNS until it is back")
            outageWarned = true
            dropClient()
            reconnectAt = now
        }
        if client == nil, now >= reconnectAt { connect(now) }
        var publishable = want
        if let ownHostName, publishable.records.removeValue(forKey: .host(ownHostName)) != nil, !loggedOwnName {
            logger.info("mDNS: \(ownHostName) is this machine's own avahi host name: left to avahi-daemon, which publishes it with the LAN addresses")
            loggedOwnName = true
        }
        if client != nil, clientState == AVAHI_CLIENT_S_RUNNING { sync(publishable, now) }

        publishStatus(want, publishable)
        var next: ContinuousClock.Instant? = needsStep ? now : nil
        if client == nil { next = earlier(next, reconnectAt) }
        for entry in entries.values where entry.group == nil {
            if let at = entry.retryAt { next = earlier(next, at) }
        }
        arm(at: next)
    }

    /// With AVAHI_CLIENT_NO_FAIL a missing avahi-daemon still yields a client (CONNECTING) that
    /// notices the daemon's arrival on the bus; only a missing or refusing bus fails here.
    private func connect(_ now: ContinuousClock.Instant) {
        var error: Int32 = 0
        let context = Unmanaged.passUnretained(self).toOpaque()
        let made = avahi_client_new(api, AVAHI_CLIENT_NO_FAIL, { client, state, context in
            guard let client else { return }
            AvahiEngine.from(context).clientChanged(client, state)
        }, context, &error)
        guard let made else {
            client = nil
            clientState = nil
            let why = Self.text(error)
            daemon = .unavailable(why)
            if !outageWarned {
                logger.warning("mDNS: the system D-Bus is not reachable (\(why)): member names are not published over mDNS until D-Bus and avahi-daemon run")
                outageWarned = true
            } else {
                logger.debug("mDNS: system D-Bus still unavailable (\(why)), retrying in \(reconnectDelay)")
            }
            reconnectAt = now.advanced(by: reconnectDelay)
            reconnectDelay = min(reconnectDelay * 2, .seconds(30))
            return
        }
        client = made
        reconnectDelay = .seconds(1)
    }

    private func clientChanged(_ changed: OpaquePointer, _ state: AvahiClientState) {
        // The first call comes from inside avahi_client_new, before it has returned the client.
        if client == nil { client = changed }
        guard client == changed else { return }
        clientState = state
        switch state {
        case AVAHI_CLIENT_S_RUNNING:
            if daemon != .running { logger.info("mDNS: avahi-daemon is running, publishing member names") }
            daemon = .running
            // Asked again on every RUNNING: a host name collision makes the daemon rename itself.
            let own = avahi_client_get_host_name_fqdn(changed).map { String(cString: $0).lowercased() }
            if own != ownHostName { loggedOwnName = false }
            ownHostName = own
            outageWarned = false
        case AVAHI_CLIENT_CONNECTING:
            daemon = .notRunning
            if !outageWarned {
                logger.warning("mDNS: avahi-daemon is not running: member names are not published over mDNS until it starts")
                outageWarned = true
            }
        case AVAHI_CLIENT_S_REGISTERING, AVAHI_CLIENT_S_COLLISION:
            // The daemon is (re)establishing its own host name; our groups wait for RUNNING.
            daemon = .registering
        default:
            break  // AVAHI_CLIENT_FAILURE: step() replaces the client
        }
        requestStep()
    }

    /// Frees the client and with it every group; the daemon drops what they held.
    private func dropClient() {
        if let client { avahi_client_free(client) }
        client = nil
        clientState = nil
        entries = [:]
        owners = [:]
    }

    private func publishStatus(_ want: DesiredRecords, _ publishable: DesiredRecords) {
        var status = AvahiStatus()
        status.daemon = daemon
        for (id, value) in want.records {
            if publishable.records[id] == nil {
                status.ownHostName = value.label
                continue
            }
            guard let entry = entries[id], entry.value == value else {
                status.pending.insert(value.label)
                continue
            }
            switch entry.phase {
            case .established: status.established.insert(entry.label)
            case .collision: status.colliding.insert(value.label)
            default: status.pending.insert(value.label)
            }
        }
        let settled = snapshot.withLock { old in
            defer { old = status }
            return !old.pending.isEmpty && status.pending.isEmpty && !status.established.isEmpty
        }
        if settled {
            let colliding = status.colliding.isEmpty ? "" : ", \(status.colliding.count) left out (name in use on the network)"
            logger.info("mDNS: \(status.established.count) record(s) published\(colliding)")
        }
    }

    private func arm(at instant: ContinuousClock.Instant?) {
        guard let api, let timer else { return }
        guard let instant else {
            api.pointee.timeout_update(timer, nil)
            return
        }
        let wait = min(max(.zero, instant - clock.now), .seconds(86_400))
        var tv = timeval()
        avahi_elapse_time(&tv, UInt32(wait / .milliseconds(1)), 0)
        api.pointee.timeout_update(timer, &tv)
    }

    private func earlier(_ a: ContinuousClock.Instant?, _ b: ContinuousClock.Instant) -> ContinuousClock.Instant {
        a.map { min($0, b) } ?? b
    }

    static func text(_ error: Int32) -> String {
        String(cString: avahi_strerror(error))
    }
}
