import CoordinatorClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import RosBridge
import TeamwireCore
import WireGuardControl

/// One joined team on this node: the WireGuard interface, the team map it follows, and the
/// path to every member. Three loops run while it lives: the long poll on the team map (every
/// change applied as it arrives), the path check (reads the counters, advances each `PathMachine`,
/// writes only what changed), and endpoint reports. None of them ever takes a working tunnel
/// down because the coordinator is away.
actor TeamSession {
    let store: TeamStore
    private(set) var enrolment: Enrolment
    /// The coordinator client: a connection per request, so nothing made from an address we no
    /// longer have outlives the request it carries.
    private let client: NodeClient
    /// The long poll: restarted when our address changes, since its connection, made from the
    /// vanished address, would hang until it times out (missing every change for a minute).
    private var pollTask: Task<Void, Never>?
    let logger: Logger
    let policy: PathPolicy
    let prober = Prober()
    let doorbell: TrafficDoorbell
    /// The hub peer's counters at the last look: relayed traffic moves only these.
    private var hubCounters: PeerCounters?
    let onRemoved: @Sendable (String, String) async -> Void
    let ros: RosPublisher
    /// The team's Fast DDS discovery server, running while the team names this node for it.
    let discoveryServer: DiscoveryServer
    /// This machine's id hash, sent with every report.
    let machineID: String?

    private(set) var settings: TeamSettings
    private(set) var hub: HubPeer
    private(set) var revision: UInt64
    /// Every other member and its path, by key.
    private var members: [PublicKey: MemberPath] = [:]
    private var reconciler: Reconciler
    /// Unix ms of the coordinator's last answer (from disk at start: it may be down then).
    private var lastContact: Int64?
    private var savedContact: Int64?
    private var coordinatorError: String?
    private var backoff = RetryBackoff()
    private var reported: [Endpoint] = []
    private var lastReport: ContinuousClock.Instant?
    private var tasks: [Task<Void, Never>] = []
    private var sleeper: Task<Void, Never>?
    /// The doorbell rang since the last look: packets cross the interface.
    private var rang = false
    /// A member said through the hub that it now sends to us directly: look at once, even right
    /// after a look (until we follow, it drops what we still send it through the hub).
    private var signalled = false
    private var stopped = false
    /// How the first look at the coordinator went: nil until it is over; true when its answer
    /// was applied (the interface and the ROS files follow the current map), false when the
    /// coordinator could not be reached (the cached map stands). Readiness waits for it.
    private(set) var firstPoll: Bool?
    /// The team runs on the coordinator's current map, as far as the agent knows.
    var current: Bool { firstPoll != nil && coordinatorError == nil }

    var team: String { enrolment.team }
    var interfaceName: String { enrolment.interfaceName }
    var listenPort: UInt16 { enrolment.listenPort }

    init(store: TeamStore, enrolment: Enrolment, map: MapUpdate, device: WireGuardDevice, client: NodeClient,
         policy: PathPolicy, ros: RosPublisher, machineID: String? = nil, logger: Logger, onRemoved: @escaping @Sendable (String, String) async -> Void) throws {
        self.store = store
        self.machineID = machineID
        self.ros = ros
        self.enrolment = enrolment
        self.client = client
        self.policy = policy
        self.onRemoved = onRemoved
        var l = logger
        l[metadataKey: "team"] = "\(enrolment.team)"
        self.logger = l
        settings = map.team
        hub = map.hub
        revision = map.revision
        reconciler = try Reconciler(device: device)
        reported = LocalEndpoints.candidates(port: enrolment.listenPort)
        lastContact = store.contact(enrolment.team) ?? enrolment.enrolledAt
        savedContact = lastContact
        doorbell = TrafficDoorbell(interface: enrolment.interfaceName)
        discoveryServer = DiscoveryServer(command: ros.discoveryServerCommand, directory: store.dir(enrolment.team), logger: l)
        let now = Self.now()
        let wallNow = Int64(Date().timeIntervalSince1970 * 1000)
        for m in map.applied(to: []) where m.publicKey != enrolment.node.publicKey {
            let adopted = reconciler.peers[m.publicKey].map { Self.carriesDirect($0, to: m, wallMilliseconds: wallNow) } ?? false
            members[m.publicKey] = MemberPath(member: m, path: PathMachine(mode: settings.mode, policy: policy, now: now, adopted: adopted))
        }
    }

    /// Whether an adopted peer carries the member's address on a live session: its /32 on the
    /// member's own peer and a handshake within WireGuard's session lifetime (180 s).
    static func carriesDirect(_ p: PeerState, to m: Member, wallMilliseconds: Int64) -> Bool {
        guard p.allowedIPs.contains(.host(m.address)), let hs = p.lastHandshake, hs.isPlausible else { return false }
        return wallMilliseconds - hs.unixMilliseconds < 180_000
    }

    /// Applies the cached map to the device and starts the loops.
    func start() throws {
        try reconcileAll()
        publishRos()
        pollTask = Task { await self.pollLoop() }
        tasks.append(Task { await self.pathLoop() })
        tasks.append(Task { await self.reportLoop() })
        tasks.append(Task { await self.signalLoop() })
        tasks.append(Task { await self.canaryLoop() })
        logger.info("team up", metadata: ["interface": "\(interfaceName)", "address": "\(enrolment.node.address)", "members": "\(members.count)", "revision": "\(revision)"])
    }

    /// Stops the loops; the interface stays unless `tearDown` (leave, removal).
    func stop(tearDown: Bool) {
        if !tearDown { saveContact() }
        stopped = true
        for t in tasks { t.cancel() }
        pollTask?.cancel()
        sleeper?.cancel()
        tasks = []
        doorbell.disarm()
        discoveryServer.stop()
        if tearDown { TeamInterface.tearDown(interfaceName) }
    }

    static func now() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    private static let start = ContinuousClock.now

    // MARK: the team map

    private func pollLoop() async {
        while !Task.isCancelled {
            do {
                // At the start and back from an outage: ask for what changed at once (the answer
                // is the sign the coordinator is there, and the next poll parks); otherwise park
                // for a minute.
                let update = try await client.map(since: revision, wait: coordinatorError == nil && firstPoll != nil ? 60 : 0)
                reachable()
                apply(update)
                if firstPoll == nil { firstPoll = true }
            } catch {
                if Task.isCancelled { return }
                // Only a refusal sealed by the coordinator counts: an unsealed "node removed"
                // can come from anyone on the path and must never make a robot drop its team.
                if case .refused(let e) = error, e.code == .nodeRemoved || e.code == .unknownNode {
                    let why = e.message
                    logger.warning("removed from the team by the coordinator", metadata: ["reason": "\(why)"])
                    await onRemoved(team, why)
                    return
                }
                // A connection it accepted (a parked poll broken by a crash) says it was there
                // just now: it is probably restarting, so ask again soon.
                if case .noReply = error { backoff.alive(at: Self.now()) }
                unreachable(error)
                if firstPoll == nil { firstPoll = false }
                // Jittered so a campus of robots does not reconnect in lockstep after an outage.
                await quietSleep(seconds: backoff.delay(now: Self.now(), jitter: Double.random(in: 0..<1)))
            }
        }
    }

    /// The coordinator answered.
    private func reachable() {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        backoff.alive(at: Self.now())
        if coordinatorError != nil {
            logger.notice("coordinator reachable again")
            coordinatorError = nil
            lastContact = now
            saveContact()
        } else {
            lastContact = now
            // Kept on disk so a node rebooted while the coordinator is down can say since when.
            // (The saved value comes from a file: no arithmetic on it may trap.)
            let age = now.subtractingReportingOverflow(savedContact ?? 0)
            if age.overflow || age.partialValue > 600_000 { saveContact() }
        }
    }

    private func unreachable(_ error: ClientError) {
        if coordinatorError == nil {
            logger.warning("coordinator unreachable; tunnels stay up, retrying", metadata: ["error": "\(error)"])
            saveContact()
        }
        coordinatorError = "\(error)"
    }

    private func saveContact() {
        guard let c = lastContact, c != savedContact else { return }
        do {
            try store.saveContact(team, c)
            savedContact = c
        } catch {
            logger.warning("cannot save the time of the last coordinator contact", metadata: ["error": "\(error)"])
        }
    }

    /// Merges a map update, saves it, and applies the changed peers at once.
    func apply(_ u: MapUpdate) {
        guard u.revision != revision || u.full else { return }
        let now = Self.now()
        let me = enrolment.node.publicKey
        let modeChanged = u.team.mode != settings.mode
        let hubChanged = u.hub != hub
        settings = u.team
        hub = u.hub
        revision = u.revision

        let next = u.applied(to: members.values.map(\.member) + [enrolment.node])
        let incoming = Dictionary(next.map { ($0.publicKey, $0) }, uniquingKeysWith: { a, _ in a })
        let removed = members.keys.filter { incoming[$0] == nil }
        // A delta names what changed; a full map is compared.
        let changed = u.full ? next.map(\.publicKey).filter { $0 != me && members[$0]?.member != incoming[$0] }
                             : (u.added + u.updated).map(\.publicKey).filter { $0 != me && incoming[$0] != nil }
        if let mine = incoming[me], mine != enrolment.node {
            enrolment.node = mine
            try? store.saveEnrolment(enrolment)
        }
        for k in removed { members[k] = nil }
        for m in next where m.publicKey != me {
            if var old = members[m.publicKey], !modeChanged {
                if old.member.endpointCandidates != m.endpointCandidates { _ = old.path.handle(.candidatesChanged(now: now)) }
                old.member = m
                members[m.publicKey] = old
            } else {
                members[m.publicKey] = MemberPath(member: m, path: PathMachine(mode: settings.mode, policy: policy, now: now))
            }
        }
        do { try store.saveMap(team, snapshot()) } catch { logger.error("cannot save the team map", metadata: ["error": "\(error)"]) }

        do {
            if modeChanged || hubChanged || u.full {
                try reconcileAll()
            } else {
                let planned = changed.compactMap { k in members[k].flatMap { PeerPlan.member($0.member, path: $0.path) } }
                try reconciler.update(planned: planned, removing: removed)
            }
        } catch {
            logger.error("cannot apply the team map to \(interfaceName)", metadata: ["error": "\(error)"])
        }
        logger.info("team map applied", metadata: ["revision": "\(revision)", "members": "\(members.count)", "changed": "\(changed.count)", "removed": "\(removed.count)"])
        publishRos()
        sleeper?.cancel()  // new members start a trial: look at them soon
    }

    /// The ROS outputs follow the map: written after the device has the new peers, so a ROS
    /// process started from the files finds its peers reachable.
    private func publishRos() {
        let everyone = (members.values.map(\.member) + [enrolment.node]).map { RosMember(name: $0.name, address: $0.address, role: $0.role) }
        let context = RosContext(team: team, selfName: enrolment.node.name, selfAddress: enrolment.node.address, members: everyone,
                                 rosMaster: settings.rosMaster, rosDomainID: settings.rosDomainID, interfaceName: interfaceName,
                                 mtu: Int(TeamInterface.mtu), directory: store.rosDir(team), participantsPerHost: ros.participantsPerHost,
                                 selfRole: enrolment.node.role, rosDiscovery: settings.rosDiscovery, discoveryServer: settings.discoveryServer,
                                 rmwImplementation: settings.rmwImplementation)
        ros.update(context)
        // After the files: the server reads its profile from them.
        if !stopped {
            discoveryServer.follow(FastDDSDiscovery.runsServer(context)
                ? DiscoveryServer.Want(address: enrolment.node.address, profile: context.path(FastDDSDiscovery.serverFileName)) : nil)
        }
    }

    /// The map as a full update, for the cache.
    private func snapshot() -> MapUpdate {
        MapUpdate(revision: revision, full: true, team: settings, hub: hub,
                  members: (members.values.map(\.member) + [enrolment.node]).sorted { $0.address < $1.address })
    }

    // MARK: the device

    private func reconcileAll() throws {
        try reconciler.reconcile(to: PeerPlan(hub: hub, prefix: settings.prefix, members: members.values.map { (member: $0.member, path: $0.path) }, policy: policy))
        // Direct peers now hold their pinned endpoint; from here on WireGuard's learnt one is kept.
        var i = members.startIndex
        while i != members.endIndex {
            _ = members.values[i].path.handle(.endpointApplied)
            members.formIndex(after: &i)
        }
    }

    // MARK: paths

    private func pathLoop() async {
        while !Task.isCancelled, !stopped {
            let wait = tick()
            let last = Self.now()
            await sleep(wait)
            // Woken by traffic: look at once, but never more often than once a tick, nor later
            // than planned (a member's "direct" signal plans looks 0.1 s apart). This wait is
            // the sleeper too: a path signal or a new member arriving during it still means "look
            // now" (the doorbell stays unarmed until the next look, so traffic cannot end it).
            let since = Self.now() - last
            let limit = min(policy.tick, wait)
            if rang, !signalled, since < limit { await sleep(limit - since) }
        }
    }

    /// Sleeps as the sleeper: a wake-up, a path signal or a new member cancels it to look now.
    private func sleep(_ seconds: Double) async {
        let s = Task { await quietSleep(seconds: seconds) }
        sleeper = s
        await s.value
    }

    /// Reads the counters, advances every member's path, applies what changed; returns the
    /// seconds until the next look.
    func tick() -> Double {
        let now = Self.now()
        // The doorbell stood armed since the last look and did not ring: no packet crossed the
        // interface, so whatever moved the counters was WireGuard's own keepalives and
        // handshakes. That is no reason to look again in a tick (it would double every idle wake-up).
        let watched = doorbell.isArmed && !rang
        // Armed before the counters are read, so no packet slips between the look and the sleep.
        if let why = doorbell.arm(ring: { [weak self] in Task { await self?.wake() } }) {
            logger.warning("no traffic doorbell; the start of traffic is noticed at the next idle look", metadata: ["error": "\(why)"])
        }
        do { try reconciler.refresh() } catch {
            logger.error("cannot read \(interfaceName)", metadata: ["error": "\(error)"])
            return policy.tick * 5
        }
        let hubNow = reconciler.peers[hub.publicKey].map(Self.counters)
        var active = rang || (!watched && hubCounters != nil && hubNow != nil && hubNow != hubCounters)
        hubCounters = hubNow
        rang = false
        signalled = false
        var changed = false
        var news: [(PathSignalMessage.Kind, IPv4Address)] = []
        var restart: [PublicKey] = []
        var i = members.startIndex
        while i != members.endIndex {
            let (k, m) = (members.keys[i], members.values[i].member)
            let effects = members.values[i].path.handle(.countersRead(reconciler.peers[k].map(Self.counters), candidates: m.endpointCandidates.count,
                                                                       quiet: watched, now: now))
            members.formIndex(after: &i)
            for effect in effects {
                switch effect {
                case .active: active = active || !watched
                case .probe: prober.probe(m.address)
                case .restartPeer: restart.append(k)
                case .pathChanged(_, let path, let signal):
                    changed = true
                    if let signal { news.append((signal, m.address)) }
                    logger.info("path", metadata: ["member": "\(m.name)", "path": "\(path.rawValue)", "trial": "\(members[k]?.path.isTrial ?? false)"])
                }
            }
        }
        if changed || reconciler.peers[hub.publicKey] == nil {
            // Re-created peers start their trial with a handshake of their own.
            do { try reconciler.update(upserting: [], removing: restart); try reconcileAll() } catch { logger.error("cannot apply paths to \(interfaceName)", metadata: ["error": "\(error)"]) }
        }
        // Tell those members through the hub: one that lost us stops answering on the dead
        // path; one we now reach directly looks at once instead of at its next idle look.
        for (kind, a) in news { PathSignal.send(kind, to: a, hub: hub.address, using: prober) }
        if localEndpointsChanged() {
            // Our address changed (roaming): a packet to every member and the hub carries the new
            // source address, so WireGuard on the other side learns it without the coordinator.
            logger.info("local addresses changed", metadata: ["endpoints": "\(LocalEndpoints.candidates(port: listenPort))"])
            forgetSourceAddresses()
            reconnectCoordinator()
            prober.probe(hub.address)
            for m in members.values { prober.probe(m.member.address) }
            active = true
            Task { await self.report() }
        }
        if active { doorbell.disarm() }
        return PathMachine.nextCheck(members.values.lazy.map(\.path), activeNow: active, now: now, policy: policy) - now
    }

    static func counters(_ p: PeerState) -> PeerCounters {
        PeerCounters(rx: p.rxBytes, tx: p.txBytes, handshake: p.lastHandshake?.unixNanoseconds ?? 0)
    }

    /// The doorbell rang: traffic started; look now.
    private func wake() {
        rang = true
        sleeper?.cancel()
    }

    /// Sets every peer's endpoint again, unchanged. WireGuard remembers the local address it
    /// last sent from for each peer; after a roam that address is gone and sends fail until
    /// WireGuard's own handshake retry (about 15 s). A fresh endpoint forgets it.
    private func forgetSourceAddresses() {
        let updates = reconciler.peers.values.compactMap { p in p.endpoint.map { PeerUpdate(publicKey: p.publicKey, updateOnly: true, endpoint: $0) } }
        do { try reconciler.device.apply(DeviceUpdate(peers: updates)) } catch {
            logger.error("cannot refresh peer endpoints after an address change", metadata: ["error": "\(error)"])
        }
    }

    /// Drops the parked long poll (its connection is from an address we may no longer have)
    /// and parks a new one at once.
    private func reconnectCoordinator() {
        guard !stopped else { return }
        pollTask?.cancel()
        pollTask = Task { await self.pollLoop() }
    }

    /// Members tell us through the hub when their path to us changed (see PathSignal).
    private func signalLoop() async {
        let signals: AsyncStream<(kind: PathSignalMessage.Kind, member: IPv4Address)>
        let channel: any Channel
        do {
            (channel, signals) = try await PathSignal.listen(address: enrolment.node.address, interface: interfaceName, hub: hub.address)
        } catch {
            logger.warning("path signals not available; a failed direct path is noticed at the next idle look", metadata: ["error": "\(error)"])
            return
        }
        await withTaskCancellationHandler {
            for await s in signals {
                switch s.kind {
                case .relay: peerChoseRelay(s.member)
                case .direct: peerChoseDirect(s.member)
                }
            }
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Answers `teamwire doctor --canary` from members until the session stops.
    private func canaryLoop() async {
        let channel: any Channel
        do {
            channel = try await CanaryResponder.listen(address: enrolment.node.address, interface: interfaceName, prefix: settings.prefix)
        } catch {
            logger.warning("no canary responder; `teamwire doctor --canary` on other members finds no answer here", metadata: ["error": "\(error)"])
            return
        }
        await withTaskCancellationHandler {
            try? await channel.closeFuture.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }

    /// Its handshake shows in the counters now or in a moment: look now, and soon again.
    private func peerChoseDirect(_ address: IPv4Address) {
        guard !stopped, let k = member(at: address) else { return }
        _ = members[k]?.path.handle(.peerChoseDirect(now: Self.now()))
        signalled = true
        sleeper?.cancel()
    }

    private func peerChoseRelay(_ address: IPv4Address) {
        guard !stopped, let k = member(at: address), let effects = members[k]?.path.handle(.peerChoseRelay(now: Self.now())), !effects.isEmpty else { return }
        logger.info("path", metadata: ["member": "\(members[k]?.member.name ?? "")", "path": "relay", "why": "the member lost its direct path to us"])
        do { try reconcileAll() } catch { logger.error("cannot apply paths to \(interfaceName)", metadata: ["error": "\(error)"]) }
        sleeper?.cancel()
    }

    private func member(at address: IPv4Address) -> PublicKey? {
        members.first { $0.value.member.address == address }?.key
    }

    // MARK: reports

    private func localEndpointsChanged() -> Bool {
        LocalEndpoints.candidates(port: listenPort) != reported
    }

    private func reportLoop() async {
        while !Task.isCancelled, !stopped {
            await report()
            // Liveness for the coordinator; address changes are reported at once by the path check.
            await quietSleep(seconds: coordinatorError == nil ? 120 : 10)
        }
    }

    private func report() async {
        let endpoints = LocalEndpoints.candidates(port: listenPort)
        reported = endpoints
        do {
            // Short: a refused connection is retried until the deadline, and this is also how
            // the agent notices the coordinator is gone while a long poll is still parked.
            let r = try await client.report(endpoints: endpoints, listenPort: listenPort, machineID: machineID, timeout: .seconds(5))
            reachable()
            logger.debug("reported endpoints", metadata: ["endpoints": "\(endpoints)", "observed": "\(r.observedEndpoint.map { "\($0)" } ?? "-")"])
        } catch {
            unreachable(error)
        }
    }

    // MARK: status

    func status() -> TeamStatus {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        func peerStatus(_ k: PublicKey) -> PeerStatus {
            guard let p = reconciler.peers[k] else { return PeerStatus() }
            let hs = p.lastHandshake?.unixMilliseconds
            return PeerStatus(endpoint: p.endpoint, latestHandshake: hs == 0 ? nil : hs, rxBytes: p.rxBytes, txBytes: p.txBytes)
        }
        func recent(_ ms: Int64?) -> Bool { ms.map { nowMs - $0 < 180_000 } ?? false }
        let hubStatus = peerStatus(hub.publicKey)
        let now = Self.now()
        let rows = members.values.sorted { $0.member.address < $1.member.address }.map { e -> MemberStatus in
            let m = e.member
            let ps = peerStatus(m.publicKey)
            let path = e.path.path
            let reachable = path == .direct
                ? (e.path.lastAlive.map { now - $0 < policy.idleTick + policy.failAfter } ?? false) || recent(ps.latestHandshake)
                : recent(hubStatus.latestHandshake)
            return MemberStatus(name: m.name, address: m.address, role: m.role, path: path, reachable: reachable, peer: ps, machineID: m.machineID)
        }
        return TeamStatus(team: team, name: enrolment.node.name, address: enrolment.node.address, prefix: settings.prefix, interface: interfaceName,
                          backend: reconciler.device.kind.rawValue, listenPort: listenPort, mode: settings.mode, revision: revision,
                          coordinatorContact: lastContact, coordinatorError: coordinatorError, hub: hubStatus, members: rows,
                          discoveryServer: discoveryServer.status, machineID: machineID)
    }

    /// Tells the coordinator this node leaves (best effort, short).
    func leaveCoordinator() async -> String? {
        do {
            try await client.leave()
            return nil
        } catch {
            return "\(error)"
        }
    }
}

/// A member of the team and the path to it: kept together so neither exists without the other.
struct MemberPath: Sendable {
    var member: Member
    var path: PathMachine
}
