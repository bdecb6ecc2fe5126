import CoordinatorClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import RosBridge
import TeamwireCore
import WireGuardControl

/// One joined team on this node: the WireGuard interface, the team map it follows, and the
/// path to every member. One event loop takes, one at a time, what happens to the team: a map
/// from the long poll, a look at the counters from the path timer, the traffic doorbell, a
/// member's path signal. It feeds each to the `TeamModel` and does what the model says; it
/// alone writes the device (through `reconciler`), and blocking system work (netlink or the
/// UAPI socket, fsync) runs on `io`, off the NIO event loops. Endpoint reports run beside it.
/// Nothing ever takes a working tunnel down because the coordinator is away.
actor TeamSession {
    let store: TeamStore
    private(set) var enrolment: Enrolment
    /// The coordinator client: a connection per request, so nothing made from an address we no
    /// longer have outlives the request it carries.
    let client: NodeClient
    /// The long poll: restarted when our address changes, since its connection, made from the
    /// vanished address, would hang until it times out (missing every change for a minute).
    var pollTask: Task<Void, Never>?
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

    /// The map and the paths: changed by the event loop only.
    var model: TeamModel
    /// What the device holds: moved to `io` for each device job, and back.
    var reconciler: Reconciler
    /// What happens to the team, for the event loop.
    let inbox: AsyncStream<Input>
    let post: AsyncStream<Input>.Continuation
    var eventLoopTask: Task<Void, Never>?
    /// Unix ms of the coordinator's last answer (from disk at start: it may be down then).
    var lastContact: Int64?
    var savedContact: Int64?
    var coordinatorError: String?
    var backoff = RetryBackoff()
    var reported: [Endpoint] = []
    var lastReport: ContinuousClock.Instant?
    var tasks: [Task<Void, Never>] = []
    /// The report loop's sleep: cancelled to report at once (roaming) and on stop.
    var reportSleeper: Task<Void, Never>?
    /// A report was asked for while one was in flight.
    var reportDue = false
    var sleeper: Task<Void, Never>?
    /// A look was asked for after the last look and before the path timer slept again (the
    /// event loop answers the timer before the timer sleeps): its next sleep is skipped.
    var lookAsked = false
    /// When the path loop is to look next (the model's `sleep(until:)`).
    var nextLook = 0.0
    var stopped = false
    /// How the first look at the coordinator went: nil until it is over; true when its answer
    /// was applied (the interface and the ROS files follow the current map), false when the
    /// coordinator could not be reached (the cached map stands). Readiness waits for it.
    var firstPoll: Bool?
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
        (inbox, post) = AsyncStream.makeStream(of: Input.self)
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
    func start() async throws {
        if let error = await onDevice({ [plan = model.plan] in try $0.reconcile(to: plan) }) { throw error }
        _ = model.handle(.planApplied)
        await publishRos()
        eventLoopTask = Task { await self.eventLoop() }
        pollTask = Task { await self.pollLoop() }
        tasks.append(Task { await self.pathLoop() })
        tasks.append(Task { await self.reportLoop() })
        tasks.append(Task { await self.signalLoop() })
        tasks.append(Task { await self.canaryLoop() })
        logger.info("team up", metadata: ["interface": "\(interfaceName)", "address": "\(enrolment.node.address)", "members": "\(model.members.count)", "revision": "\(revision)"])
    }

    /// Stops the loops; the interface stays unless `tearDown` (leave, removal).
    func stop(tearDown: Bool) async {
        if !tearDown { await saveContact() }
        stopped = true
        for t in tasks { t.cancel() }
        pollTask?.cancel()
        reportSleeper?.cancel()
        sleeper?.cancel()
        tasks = []
        doorbell.disarm()
        discoveryServer.stop()
        // The event loop answers what is queued without acting on it, then ends: no device job
        // runs while the interface goes.
        post.finish()
        await eventLoopTask?.value
        if tearDown { TeamInterface.tearDown(interfaceName) }
    }

    static func now() -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
    static let start = ContinuousClock.now

    // MARK: the event loop

    /// What the event loop takes.
    enum Input: Sendable {
        /// A map from the coordinator; `applied` resumes once the device and the files follow it.
        case map(MapUpdate, applied: CheckedContinuation<Void, Never>)
        /// The path timer: look at the counters; `next` gets the seconds until the next look.
        case look(next: CheckedContinuation<Double, Never>)
        case doorbell
        case pathSignal(PathSignalMessage.Kind, from: IPv4Address)
    }

    func eventLoop() async {
        for await input in inbox {
            switch input {
            case .map(let u, let applied):
                if !stopped { await perform(model.handle(.map(u, now: Self.now())), failure: "cannot apply the team map to \(interfaceName)") }
                applied.resume()
            case .look(let next):
                lookAsked = false  // what was asked before this look, this look answers
                next.resume(returning: stopped ? policy.tick : await tick())
            case .doorbell:
                if !stopped { await perform(model.handle(.doorbellRang), failure: "") }
            case .pathSignal(let kind, let address):
                if !stopped { await perform(model.handle(.pathSignal(kind, from: address, now: Self.now())), failure: "cannot apply paths to \(interfaceName)") }
            }
        }
    }

    /// Merges a map update, saves it, and applies the changed peers; returns once they are applied.
    func apply(_ u: MapUpdate) async {
        await withCheckedContinuation { c in
            if case .terminated = post.yield(.map(u, applied: c)) { c.resume() }
        }
    }

    /// Does what the model asks, in order. `failure` names a failed device write in the log.
    func perform(_ effects: [TeamModel.Effect], failure: @autoclosure () -> String) async {
        for e in effects {
            // Kept in two small functions: one async switch over every effect, with its logging
            // inlined, compiled to 680 KB of code (4% of the agent's text).
            guard let write = await write(e) else {
                act(e)
                continue
            }
            if let error = write.error { logger.error("\(write.what ?? failure())", metadata: ["error": "\(error)"]) }
        }
    }

    /// The effects that block (the device, files with fsync), run on `io`: nil for the others;
    /// else the error, if any, and what failed when it is not the caller's device write.
    @inline(never)
    private func write(_ e: TeamModel.Effect) async -> (error: (any Error)?, what: String?)? {
        switch e {
        case .apply(let plan):
            return (await applyPlan(plan), nil)
        case .recreateThenApply(let keys, let plan):
            // Re-created peers start their trial with a handshake of their own.
            if let error = await onDevice({ try $0.update(upserting: [], removing: keys) }) { return (error, nil) }
            return (await applyPlan(plan), nil)
        case .update(let planned, let removed):
            return (await onDevice { try $0.update(planned: planned, removing: removed) }, nil)
        case .forgetSourceAddresses:
            logger.info("local addresses changed", metadata: ["endpoints": "\(LocalEndpoints.candidates(port: listenPort))"])
            // WireGuard's remembered source addresses are gone after a roam: see `resetEndpoints`.
            return (await onDevice { try $0.resetEndpoints() }, "cannot refresh peer endpoints after an address change")
        case .saveNode(let node):
            enrolment.node = node
            return (await onIO { [store, enrolment] in try store.saveEnrolment(enrolment) }, "cannot save the enrolment")
        case .saveMap(let map):
            return (await onIO { [store, team] in try store.saveMap(team, map) }, "cannot save the team map")
        case .publishRos:
            await publishRos()
            return (nil, nil)
        default:
            return nil
        }
    }

    /// The effects that do not block.
    @inline(never)
    private func act(_ e: TeamModel.Effect) {
        switch e {
        case .probe(let address): prober.probe(address)
        case .signal(let kind, let member): PathSignal.send(kind, to: member, hub: hub.address, using: prober)
        case .mapApplied(let changed, let removed):
            logger.info("team map applied", metadata: ["revision": "\(revision)", "members": "\(model.members.count)", "changed": "\(changed)", "removed": "\(removed)"])
        case .pathChanged(let m, let path, let trial):
            logger.info("path", metadata: ["member": "\(m.name)", "path": "\(path.rawValue)", "trial": "\(trial)"])
        case .followedToRelay(let m):
            logger.info("path", metadata: ["member": "\(m.name)", "path": "relay", "why": "the member lost its direct path to us"])
        case .reconnectCoordinator: reconnectCoordinator()
        case .reportNow: reportNow()
        case .trafficFlows: doorbell.disarm()
        case .lookNow: wakeSleeper()
        case .sleep(let until): nextLook = until
        case .apply, .recreateThenApply, .update, .forgetSourceAddresses, .saveNode, .saveMap, .publishRos: break  // `write`
        }
    }

    /// The ROS outputs follow the map: written after the device has the new peers, so a ROS
    /// process started from the files finds its peers reachable.
    func publishRos() async {
        let everyone = model.everyone.map { RosMember(name: $0.name, address: $0.address, role: $0.role) }
        let context = RosContext(team: team, selfName: enrolment.node.name, selfAddress: enrolment.node.address, members: everyone,
                                 rosMaster: settings.rosMaster, rosDomainID: settings.rosDomainID, interfaceName: interfaceName,
                                 mtu: Int(TeamInterface.mtu), directory: store.paths.rosDir(team), participantsPerHost: ros.participantsPerHost,
                                 selfRole: enrolment.node.role, rosDiscovery: settings.rosDiscovery, discoveryServer: settings.discoveryServer,
                                 rmwImplementation: settings.rmwImplementation)
        // Written with fsync: on `io`, like the device.
        _ = await onIO { [ros] in ros.update(context) }
        // After the files: the server reads its profile from them.
        if !stopped {
            discoveryServer.follow(FastDDSDiscovery.runsServer(context)
                ? DiscoveryServer.Want(address: enrolment.node.address, profile: context.path(FastDDSDiscovery.serverFileName)) : nil)
        }
    }
}
