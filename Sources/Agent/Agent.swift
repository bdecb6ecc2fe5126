import AgentClient
import CoordinatorClient
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import TeamwireCore
import WireGuardControl

public struct AgentConfig: Sendable {
    public var stateDirectory: String
    public var backend: BackendChoice
    public var wireguardGo: String?
    public var policy: PathPolicy
    /// Publish members' names and the ROS master on the local avahi-daemon.
    public var mdns: Bool
    /// DDS participants (ROS 2 processes) per member that discovery covers.
    public var rosParticipants: Int
    /// The Fast DDS discovery server command, when a team names this node to run it.
    public var discoveryServerCommand: [String]
    /// The file whose hash (`MachineID`) the agent reports: members cloned from one image share it.
    public var machineIDFile: String

    public init(stateDirectory: String = AgentStateDirectory.defaultRoot, backend: BackendChoice = .automatic, wireguardGo: String? = nil, policy: PathPolicy = .standard,
                mdns: Bool = true, rosParticipants: Int = 32, discoveryServerCommand: [String] = ["fast-discovery-server"],
                machineIDFile: String = "/etc/machine-id") {
        self.discoveryServerCommand = discoveryServerCommand
        self.stateDirectory = stateDirectory
        self.backend = backend
        self.wireguardGo = wireguardGo
        self.policy = policy
        self.mdns = mdns
        self.rosParticipants = rosParticipants
        self.machineIDFile = machineIDFile
    }
}

/// The daemon: owns every joined team's session, answers join, status and leave.
public actor Agent {
    public let config: AgentConfig
    public let store: TeamStore
    let logger: Logger
    let ros: RosPublisher
    private(set) var sessions: [String: TeamSession] = [:] {
        didSet { if Set(oldValue.keys) != Set(sessions.keys) { teamsChanged() } }
    }
    /// Teams with a join in progress (the actor is re-entered while a join waits).
    private var joining: Set<String> = []
    /// The UDP ports picked by joins in progress, by team: not bound until the interface is up,
    /// so a concurrent join must not pick them again.
    private var portsInFlight: [String: UInt16] = [:]
    /// Called when the coordinator removed this node from its last team: the agent stops.
    private let onLastTeamRemoved: @Sendable (String) -> Void
    /// The hash of this machine's id, read once at start (a new id takes a restart, as for
    /// every other program that read it); nil when the file is missing or not an id.
    let machineID: String?

    public init(config: AgentConfig, logger: Logger, onLastTeamRemoved: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.store = TeamStore(root: config.stateDirectory)
        self.logger = logger
        self.onLastTeamRemoved = onLastTeamRemoved
        try store.prepare()
        let idText = try? String(contentsOfFile: config.machineIDFile, encoding: .utf8)
        machineID = idText.flatMap(MachineID.hash(fileText:))
        if machineID == nil {
            logger.warning("no machine id to report: members cloned from one image cannot be told apart", metadata: ["file": "\(config.machineIDFile)"])
        }
        ros = RosPublisher(store: store, mdns: config.mdns, participantsPerHost: config.rosParticipants, logger: logger,
                           discoveryServerCommand: config.discoveryServerCommand)
    }

    /// Brings every cached team up from disk, without the coordinator: a robot rebooted while
    /// the coordinator is down gets its overlay back with the last team map it saw.
    public func restore() async {
        for team in store.teams() {
            do {
                guard let e = try store.enrolment(team), let key = try store.key(team), let map = store.map(team) else {
                    logger.warning("incomplete state for team, skipped (join again)", metadata: ["team": "\(team)"])
                    continue
                }
                try await startSession(e, key: key, map: map)
            } catch {
                logger.error("cannot bring team up from its cache", metadata: ["team": "\(team)", "error": "\(error)"])
            }
        }
    }

    public func join(_ req: JoinRequest) async throws -> TeamStatus {
        let token: EnrolmentToken
        do { token = try EnrolmentToken(parsing: req.token) } catch { throw AgentError(error.message) }
        if let problem = Names.labelProblem(req.name) { throw AgentError("bad node name \"\(req.name)\": \(problem)") }
        if let s = sessions[token.team] {
            let st = await s.status()
            guard st.name == req.name else {
                throw AgentError("already joined team \(token.team) as \(st.name); run `teamwire leave \(token.team)` first")
            }
            return st
        }
        guard joining.insert(token.team).inserted else { throw AgentError("a join of team \(token.team) is already in progress") }
        defer { joining.remove(token.team) }
        // Enrolled before but not running (its bring-up failed, or the cache was incomplete at
        // start): come up from the cache rather than spend the token again.
        if let e = try? store.enrolment(token.team), e.node.name == req.name, e.coordinatorKey == token.coordinatorKey,
           let key = try store.key(token.team), let map = store.map(token.team) {
            try await startSession(e, key: key, map: map)
            return await sessions[e.team]!.status()
        }
        // A key already on disk was kept by an earlier join whose outcome is unknown (or belongs
        // to an enrolment): only a key made by this very join may be discarded when it fails.
        let fresh = try store.key(token.team) == nil
        let key = try store.loadOrCreateKey(token.team)
        // Ports of running teams, of teams on disk (a team that failed to start keeps its port)
        // and of joins still in flight (they bind theirs only once enrolled).
        var taken = Set(await sessions.values.asyncMap { await $0.listenPort })
        for t in store.teams() where t != token.team { if let e = try? store.enrolment(t) { taken.insert(e.listenPort) } }
        taken.formUnion(portsInFlight.values)
        let port = LocalEndpoints.freeUDPPort(avoiding: taken)
        portsInFlight[token.team] = port
        defer { portsInFlight[token.team] = nil }
        let reply: EnrollReply
        switch await enroll(token, name: req.name, key: key, port: port) {
        case .success(let r): reply = r
        case .failure(let error):
            // A refusal, or a coordinator never reached, holds nothing for a new key: forget it.
            // After an answer that was lost it may hold the enrolment: keep the key, so joining
            // again (same token) is this node re-enrolling, not a second node whose name is taken.
            if case .noReply(let why) = error {
                throw APIError(.coordinatorNoAnswer, "\(why) (it may have enrolled this node)")
            }
            if fresh { store.remove(token.team) }
            if case .unreachable(let why) = error { throw APIError(.coordinatorUnreachable, why) }
            throw AgentError("enrolment failed: \(error)")
        }
        // Enrolled: the team comes up even if the asker has gone meanwhile (Ctrl-C just after the
        // coordinator said yes), so nothing is left half-made. (A Task does not inherit cancellation.)
        return try await Task { try await self.enrolled(token, reply: reply, port: port, key: key) }.value
    }

    /// Saves a new enrolment and brings the team up.
    private func enrolled(_ token: EnrolmentToken, reply: EnrollReply, port: UInt16, key: PrivateKey) async throws -> TeamStatus {
        let e = Enrolment(team: token.team, node: reply.node, coordinatorKey: token.coordinatorKey, coordinatorEndpoints: token.endpoints,
                          interfaceName: teamInterfaceName(token.team), listenPort: port, enrolledAt: Int64(Date().timeIntervalSince1970 * 1000))
        try store.saveEnrolment(e)
        try store.saveMap(token.team, reply.map)
        logger.info("enrolled", metadata: ["team": "\(e.team)", "address": "\(e.node.address)", "members": "\((reply.map.members ?? []).count)"])
        try await startSession(e, key: key, map: reply.map)
        return await sessions[e.team]!.status()
    }

    /// Asks the coordinator once to enrol this key. While nothing authoritative comes back,
    /// `teamwire join` asks again (one request to the agent per attempt, so it can say what
    /// it waits for, and Ctrl-C, which closes its connection, cancels the attempt in flight): the
    /// same key and token enrolling again is accepted, and spends no second use of the token.
    private func enroll(_ token: EnrolmentToken, name: String, key: PrivateKey, port: UInt16) async -> Result<EnrollReply, ClientError> {
        let client = NodeClient(token: token, privateKey: key)
        logger.info("enrolling", metadata: ["team": "\(token.team)", "name": "\(name)", "coordinator": "\(token.endpoints.map(\.description).joined(separator: ","))"])
        do {
            return .success(try await client.enroll(token: token, name: name, endpoints: LocalEndpoints.candidates(port: port), listenPort: port,
                                                   machineID: machineID, timeout: .seconds(10)))
        } catch {
            if Task.isCancelled {
                logger.notice("enrolment attempt stopped: `teamwire join` went away", metadata: ["team": "\(token.team)"])
            } else if error.isTransport {
                logger.warning("enrolment got no answer", metadata: ["team": "\(token.team)", "error": "\(error)"])
            }
            return .failure(error)
        }
    }

    private func startSession(_ e: Enrolment, key: PrivateKey, map: MapUpdate) async throws {
        var e = e
        let existed = Link.exists(e.interfaceName)
        if !existed, !LocalEndpoints.udpPortIsFree(e.listenPort) {
            // Something else took the team's port since (it is bound only while the interface
            // exists): move to a free one rather than fail at every start. Reports carry it.
            var taken = Set(await sessions.values.asyncMap { await $0.listenPort })
            taken.formUnion(portsInFlight.values)
            let port = LocalEndpoints.freeUDPPort(avoiding: taken)
            logger.warning("the team's WireGuard port is in use by another program; moving", metadata: ["team": "\(e.team)", "from": "\(e.listenPort)", "to": "\(port)"])
            e.listenPort = port
            try store.saveEnrolment(e)
        }
        do {
            let device = try TeamInterface.bringUp(e, key: key, prefix: map.team.prefix, backend: config.backend, wireguardGo: config.wireguardGo,
                                                   logDirectory: store.dir(e.team))
            let client = NodeClient(coordinatorKey: e.coordinatorKey, endpoints: e.coordinatorEndpoints, privateKey: key)
            let session = try TeamSession(store: store, enrolment: e, map: map, device: device, client: client, policy: config.policy,
                                          ros: ros, machineID: machineID, logger: logger) { [weak self] team, why in
                await self?.removed(team: team, reason: why)
            }
            do { try await session.start() } catch {
                await session.stop(tearDown: false)
                throw error
            }
            sessions[e.team] = session
        } catch {
            // Leave nothing half-made behind; the enrolment stays, so `join` retries from it.
            if !existed { TeamInterface.tearDown(e.interfaceName) }
            throw AgentError("cannot bring up \(e.interfaceName) for team \(e.team): \(error)")
        }
    }

    /// The coordinator removed this node: the tunnel goes, the state goes, and the reason is logged.
    func removed(team: String, reason: String) async {
        guard let s = sessions.removeValue(forKey: team) else { return }
        await s.stop(tearDown: true)
        ros.withdraw(team)
        store.remove(team)
        logger.warning("left team: removed by the coordinator", metadata: ["team": "\(team)", "reason": "\(reason)"])
        if sessions.isEmpty { onLastTeamRemoved("removed from team \(team) by the coordinator (\(reason))") }
    }

    public func leave(_ team: String) async throws -> LeaveReply {
        if let problem = Names.labelProblem(team) { throw AgentError("bad team name \"\(team)\": \(problem)") }
        guard let s = sessions.removeValue(forKey: team) else {
            if (try? store.enrolment(team)) != nil {
                store.remove(team)
                TeamInterface.tearDown(teamInterfaceName(team))
                return LeaveReply(team: team, coordinatorNotified: false, message: "the team was not running; its local state was removed")
            }
            throw AgentError("not a member of team \(team) (see `teamwire status`)")
        }
        await s.stop(tearDown: false)
        let failure = await s.leaveCoordinator()
        TeamInterface.tearDown(await s.interfaceName)
        ros.withdraw(team)
        store.remove(team)
        logger.notice("left team", metadata: ["team": "\(team)", "coordinator": "\(failure ?? "notified")"])
        return LeaveReply(team: team, coordinatorNotified: failure == nil,
                          message: failure.map { "the coordinator was not told (\($0)); an admin can run `teamwire node remove \(team) NAME`" })
    }

    public func status() async -> AgentStatus {
        var teams: [TeamStatus] = []
        for s in sessions.values { teams.append(await s.status()) }
        return AgentStatus(version: TeamwireVersion.string, teams: teams.sorted { $0.team < $1.team })
    }

    /// Stops the loops; interfaces stay up (tunnels outlive the agent, a restart adopts them).
    public func shutdown() async {
        for s in sessions.values {
            await s.stop(tearDown: false)
        }
        ros.shutdown()
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ f: (Element) async -> T) async -> [T] {
        var out: [T] = []
        for e in self { out.append(await f(e)) }
        return out
    }
}
