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
/// change applied as it arrives), the path check (reads the counters, feeds them to the
/// `TeamModel`, writes only what changed), and endpoint reports. None of them ever takes a
/// working tunnel down because the coordinator is away. The model decides; the session does
/// what it says, and it alone writes the device (through `reconciler`).
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
    let onRemoved: @Sendable (String, String) async -> Void
    let ros: RosPublisher
    /// The team's Fast DDS discovery server, running while the team names this node for it.
    let discoveryServer: DiscoveryServer
    /// This machine's id hash, sent with every report.
    let machineID: String?

    /// The map and the paths.
    private var model: TeamModel
    private var reconciler: Reconciler
    /// Unix ms of the coordinator's last answer (from disk at start: it may be down then).
    private var lastContact: Int64?
    private var savedContact: Int64?
    private var coordinatorError: String?
    private var backoff = RetryBackoff()
    private var reported: [Endpoint] = []
    private var lastReport: ContinuousClock.Instant?
    private var tasks: [Task<Void, Never>] = []
    /// The report loop's sleep: cancelled to report at once (roaming) and on stop.
    private var reportSleeper: Task<Void, Never>?
    /// A report was asked for while one was in flight.
    private var reportDue = false
    private var sleeper: Task<Void, Never>?
    /// When the path loop is to look next (the model's `sleep(until:)`).
    private var nextLook = 0.0
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
        let reconciler = try Reconciler(device: device)
        self.reconciler = reconciler
        reported = LocalEndpoints.candidates(port: enrolment.listenPort)
        lastContact = store.contact(enrolment.team) ?? enrolment.enrolledAt
        savedContact = lastContact
        doorbell = TrafficDoorbell(interface: enrolment.interfaceName)
        discoveryServer = DiscoveryServer(command: ros.discoveryServerCommand, directory: store.dir(enrolment.team), logger: l)
        let wallNow = Int64(Date().timeIntervalSince1970 * 1000)
        model = TeamModel(map: map, node: enrolment.node, policy: policy, now: Self.now()) { m in
            reconciler.peers[m.publicKey].map { Self.carriesDirect($0, to: m, wallMilliseconds: wallNow) } ?? false
        }
    }

    var settings: TeamSettings { model.settings }
    var hub: HubPeer { model.hub }
    var revision: UInt64 { model.revision }

    /// Whether an adopted peer carries the member's address on a live session: its /32 on the
    /// member's own peer and a handshake within WireGuard's session lifetime (180 s).
    static func carriesDirect(_ p: PeerState, to m: Member, wallMilliseconds: Int64) -> Bool {
        guard p.allowedIPs.contains(.host(m.address)), let hs = p.lastHandshake, hs.isPlausible else { return false }
        return wallMilliseconds - hs.unixMilliseconds < 180_000
    }

    /// Applies the cached map to the device and starts the loops.
    func start() throws {
        try applyPlan(model.plan)
        publishRos()
        pollTask = Task { await self.pollLoop() }
        tasks.append(Task { await self.pathLoop() })
        tasks.append(Task { await self.reportLoop() })
        tasks.append(Task { await self.signalLoop() })
        tasks.append(Task { await self.canaryLoop() })
        logger.info("team up", metadata: ["interface": "\(interfaceName)", "address": "\(enrolment.node.address)", "members": "\(model.members.count)", "revision": "\(revision)"])
    }

    /// Stops the loops; the interface stays unless `tearDown` (leave, removal).
    func stop(tearDown: Bool) {
        if !tearDown { saveContact() }
        stopped = true
        for t in tasks { t.cancel() }
        pollTask?.cancel()
        reportSleeper?.cancel()
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
        perform(model.handle(.map(u, now: Self.now())), failure: "cannot apply the team map to \(interfaceName)")
    }

    /// Does what the model asks, in order. `failure` names a failed device write in the log.
    private func perform(_ effects: [TeamModel.Effect], failure: @autoclosure () -> String) {
        for e in effects {
            switch e {
            case .apply(let plan):
                do { try applyPlan(plan) } catch { logger.error("\(failure())", metadata: ["error": "\(error)"]) }
            case .recreateThenApply(let keys, let plan):
                do {
                    try reconciler.update(upserting: [], removing: keys)
                    try applyPlan(plan)
                } catch {
                    logger.error("\(failure())", metadata: ["error": "\(error)"])
                }
            case .update(let planned, let removed):
                do { try reconciler.update(planned: planned, removing: removed) } catch { logger.error("\(failure())", metadata: ["error": "\(error)"]) }
            case .probe(let address): prober.probe(address)
            case .signal(let kind, let member): PathSignal.send(kind, to: member, hub: hub.address, using: prober)
            case .saveNode(let node):
                enrolment.node = node
                try? store.saveEnrolment(enrolment)
            case .saveMap(let map):
                do { try store.saveMap(team, map) } catch { logger.error("cannot save the team map", metadata: ["error": "\(error)"]) }
            case .publishRos: publishRos()
            case .mapApplied(let changed, let removed):
                logger.info("team map applied", metadata: ["revision": "\(revision)", "members": "\(model.members.count)", "changed": "\(changed)", "removed": "\(removed)"])
            case .pathChanged(let m, let path, let trial):
                logger.info("path", metadata: ["member": "\(m.name)", "path": "\(path.rawValue)", "trial": "\(trial)"])
            case .followedToRelay(let m):
                logger.info("path", metadata: ["member": "\(m.name)", "path": "relay", "why": "the member lost its direct path to us"])
            case .forgetSourceAddresses:
                logger.info("local addresses changed", metadata: ["endpoints": "\(LocalEndpoints.candidates(port: listenPort))"])
                forgetSourceAddresses()
            case .reconnectCoordinator: reconnectCoordinator()
            case .reportNow: reportNow()
            case .trafficFlows: doorbell.disarm()
            case .lookNow: sleeper?.cancel()
            case .sleep(let until): nextLook = until
            }
        }
    }

    /// Takes the device to the whole plan; the model then keeps the endpoints WireGuard learns.
    private func applyPlan(_ plan: PeerPlan) throws {
        try reconciler.reconcile(to: plan)
        _ = model.handle(.planApplied)
    }

    /// The ROS outputs follow the map: written after the device has the new peers, so a ROS
    /// process started from the files finds its peers reachable.
    private func publishRos() {
        let everyone = model.everyone.map { RosMember(name: $0.name, address: $0.address, role: $0.role) }
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
            if model.wokenByTraffic, since < limit { await sleep(limit - since) }
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
        let armed = doorbell.isArmed
        // Armed before the counters are read, so no packet slips between the look and the sleep.
        if let why = doorbell.arm(ring: { [weak self] in Task { await self?.wake() } }) {
            logger.warning("no traffic doorbell; the start of traffic is noticed at the next idle look", metadata: ["error": "\(why)"])
        }
        do { try reconciler.refresh() } catch {
            logger.error("cannot read \(interfaceName)", metadata: ["error": "\(error)"])
            return policy.tick * 5
        }
        let now = Self.now()
        nextLook = now + policy.idleTick
        let reading = TeamModel.CounterReading(peers: reconciler.peers.mapValues(Self.counters), doorbellArmed: armed,
                                               addressesChanged: localEndpointsChanged(), now: now)
        perform(model.handle(.countersRead(reading)), failure: "cannot apply paths to \(interfaceName)")
        return nextLook - now
    }

    static func counters(_ p: PeerState) -> PeerCounters {
        PeerCounters(rx: p.rxBytes, tx: p.txBytes, handshake: p.lastHandshake?.unixNanoseconds ?? 0)
    }

    /// The doorbell rang: traffic started; look now.
    private func wake() {
        perform(model.handle(.doorbellRang), failure: "")
    }

    /// After a roam, WireGuard's remembered source addresses are gone: see `resetEndpoints`.
    private func forgetSourceAddresses() {
        do { try reconciler.resetEndpoints() } catch {
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
                pathSignal(s.kind, from: s.member)
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

    private func pathSignal(_ kind: PathSignalMessage.Kind, from address: IPv4Address) {
        guard !stopped else { return }
        perform(model.handle(.pathSignal(kind, from: address, now: Self.now())), failure: "cannot apply paths to \(interfaceName)")
    }

    // MARK: reports

    private func localEndpointsChanged() -> Bool {
        LocalEndpoints.candidates(port: listenPort) != reported
    }

    private func reportLoop() async {
        while !Task.isCancelled, !stopped {
            reportDue = false
            await report()
            if reportDue { continue }
            // Liveness for the coordinator; address changes are reported at once by the path check.
            let s = Task { await quietSleep(seconds: coordinatorError == nil ? 120 : 10) }
            reportSleeper = s
            await s.value
        }
    }

    /// Reports now: wakes the report loop, or has it report again when one is in flight.
    private func reportNow() {
        guard !stopped else { return }
        // As the report itself does: the next look must not take the same change for new.
        reported = LocalEndpoints.candidates(port: listenPort)
        reportDue = true
        reportSleeper?.cancel()
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
        let rows = model.members.values.sorted { $0.member.address < $1.member.address }.map { e -> MemberStatus in
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

