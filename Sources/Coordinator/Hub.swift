import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import TeamwireCore
import WireGuardControl

/// How the coordinator runs the hub.
public struct HubConfig: Sendable {
    /// The hub's one WireGuard interface, shared by every team.
    public var interfaceName: String
    public var backend: BackendChoice
    /// wireguard-go to run for the userspace backend (nil: found on $PATH).
    public var wireguardGo: String?
    /// A network namespace (a path such as /var/run/netns/NAME) to run the interface, its
    /// rules and its forwarding in; nil: the coordinator's own. Tests run an in-process
    /// coordinator's hub inside a lab namespace with it.
    public var networkNamespace: String?
    /// How often the endpoints WireGuard learnt from members' packets are read back into the
    /// registry (as their observed endpoints).
    public var endpointScanInterval: Duration
    public var mtu: UInt32

    public init(interfaceName: String = HubConfig.defaultInterfaceName, backend: BackendChoice = .automatic, wireguardGo: String? = nil,
                networkNamespace: String? = nil, endpointScanInterval: Duration = .seconds(10), mtu: UInt32 = 1420) {
        self.interfaceName = interfaceName
        self.backend = backend
        self.wireguardGo = wireguardGo
        self.networkNamespace = networkNamespace
        self.endpointScanInterval = endpointScanInterval
        self.mtu = mtu
    }

    public static let defaultInterfaceName = "twhub"

    /// Why `name` cannot be the hub's interface, or nil. Stricter than the kernel: the name is
    /// also written into nftables rules and the table's name.
    public static func interfaceNameProblem(_ name: String) -> String? {
        guard (1...15).contains(name.utf8.count) else { return "must be 1 to 15 characters" }
        guard name.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x5f || $0 == 0x2d }) else {
            return "may only contain letters, digits, '-' and '_'"
        }
        return nil
    }
}

/// Every team's hub: one WireGuard interface whose peers are all members of all teams, each at
/// its /32, with the hub's address in each team on it (which routes the team's prefix to it).
/// It follows the registry (re-applied right after every change, so a removed member is cut
/// off within milliseconds), relays between members of the same team only (HubFirewall), and
/// writes the endpoints WireGuard learnt from members' packets back as their observed endpoints.
///
/// All system work runs on one dedicated thread (SystemThread), in order.
public final class Hub: Service, Sendable {
    public let config: HubConfig
    let registry: Registry
    let listenPort: UInt16
    let logger: Logger
    /// The interface as last applied; touched only on the system thread.
    private let machine = Mutex<Machine?>(nil)
    /// Set once the interface is ours (created or adopted): only then does teardown delete it.
    private let owned = Mutex<(device: Bool, process: WireGuardGo?)>((false, nil))
    /// The last apply failed: the endpoint scan retries it (as does the next change).
    private let failedApply = Mutex(false)
    /// Relays "my direct path to you failed" between members (see HubSignals).
    private let signals = Mutex<HubSignals?>(nil)

    struct Machine: Sendable {
        var reconciler: Reconciler
        var addresses: Set<HubAddress>
        var firewall: String?
    }

    struct HubAddress: Hashable, Sendable {
        var address: IPv4Address
        var prefixLength: Int
    }

    public init(config: HubConfig, registry: Registry, listenPort: UInt16, logger: Logger) {
        self.config = config
        self.registry = registry
        self.listenPort = listenPort
        self.logger = logger
    }

    public var interfaceName: String { config.interfaceName }

    public func run() async throws {
        let thread = try SystemThread(name: "teamwire-hub", networkNamespace: config.networkNamespace)
        defer { thread.stop() }
        do {
            let teams = registry.hubTeams()
            try await thread.run { try self.bringUp(teams) }
        } catch {
            try? await thread.run { self.tearDown() }
            throw CoordinatorError("the hub could not bring up its WireGuard interface \(config.interfaceName): \(error)")
        }
        let interval = config.endpointScanInterval
        let changes = registry.followChanges()
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await _ in changes {
                            let teams = self.registry.hubTeams()
                            try await thread.run { try self.applyLogged(teams) }
                        }
                    }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: interval)
                            if self.failedApply.withLock({ $0 }) {
                                let teams = self.registry.hubTeams()
                                try await thread.run { try self.applyLogged(teams) }
                            }
                            let seen = try await thread.run { try self.scan() }
                            await self.registry.recordHubObservations(seen)
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown (or the group was cancelled): fall through to the teardown.
        } catch {
            try? await thread.run { self.tearDown() }
            throw error
        }
        try? await thread.run { self.tearDown() }
    }

    // MARK: on the system thread

    private func bringUp(_ teams: [HubTeam]) throws {
        let name = config.interfaceName
        // An interface that outlived the last run (a crash, a restart, a package upgrade) is
        // adopted, its peers keeping their sessions: the log says which, so an operator knows.
        let existed = Link.exists(name)
        let (device, process) = try WireGuardDevice.create(name, choice: config.backend, wireguardGo: config.wireguardGo)
        owned.withLock { $0 = (true, process) }
        var m = Machine(reconciler: try Reconciler(device: device), addresses: [], firewall: nil)
        // Whatever an earlier run left on the interface is reconciled like any change.
        m.addresses = Set(try Link.listAddresses(name).map { HubAddress(address: $0.address, prefixLength: $0.prefixLength) })
        if existed {
            logger.info("adopted existing hub interface \(name)", metadata: ["backend": "\(device.kind)", "peers": "\(m.reconciler.peers.count)",
                                                                            "addresses": "\(m.addresses.count)"])
        } else {
            logger.info("created hub interface \(name)", metadata: ["backend": "\(device.kind)"])
        }
        try Link.setMTU(name, config.mtu)
        machine.withLock { $0 = m }
        try apply(teams)
        try HubFirewall.enableForwarding(interface: name)
        try HubFirewall.disableRedirects(interface: name)
        try Link.setUp(name)
        do {
            let sig = try HubSignals(interface: name, logger: logger)
            sig.update(teams)
            sig.start()
            signals.withLock { $0 = sig }
        } catch {
            // Members still fall back to the hub on their own, only less quickly on both ends.
            logger.warning("hub cannot relay path signals", metadata: ["error": "\(error)"])
        }
        let peers = machine.withLock { $0?.reconciler.peers.count ?? 0 }
        logger.info("hub up", metadata: ["interface": "\(name)", "backend": "\(device.kind)", "port": "\(listenPort)",
                                         "teams": "\(teams.count)", "peers": "\(peers)"])
    }

    private func applyLogged(_ teams: [HubTeam]) throws {
        do {
            try apply(teams)
            failedApply.withLock { $0 = false }
        } catch {
            // The next change or endpoint scan tries again; a dead wireguard-go ends the hub.
            failedApply.withLock { $0 = true }
            logger.error("hub could not apply the team maps", metadata: ["error": "\(error)"])
            try checkAlive()
        }
    }

    /// Takes the interface to `teams`: its addresses, its peers (minimal change; a new peer
    /// gets its member's best endpoint, a known one keeps the endpoint WireGuard learnt) and
    /// the forwarding rules.
    func apply(_ teams: [HubTeam]) throws {
        try machine.withLock { m in
            guard m != nil else { return }
            let name = config.interfaceName
            let want = Set(teams.map { HubAddress(address: $0.hubAddress, prefixLength: $0.prefix.length) })
            for a in m!.addresses.subtracting(want) {
                try Link.removeAddress(name, a.address, prefixLength: a.prefixLength)
                m!.addresses.remove(a)
            }
            for a in want.subtracting(m!.addresses) {
                try Link.addAddress(name, a.address, prefixLength: a.prefixLength)
                m!.addresses.insert(a)
            }

            var peers: [PlannedPeer] = []
            peers.reserveCapacity(teams.reduce(0) { $0 + $1.members.count })
            for t in teams {
                for member in t.members {
                    peers.append(PeerPlan.hubMember(publicKey: member.publicKey, address: member.address, endpoint: member.endpoint))
                }
            }
            let update = try m!.reconciler.reconcile(to: PeerPlan(peers: peers),
                                                     interface: InterfaceConfiguration(privateKey: registry.identity.privateKey, listenPort: listenPort))
            if !update.peers.isEmpty {
                let removed = update.peers.filter(\.remove).count
                let added = update.peers.filter { !$0.remove && !$0.updateOnly }.count
                logger.debug("hub peers changed", metadata: ["added": "\(added)", "removed": "\(removed)", "updated": "\(update.peers.count - added - removed)"])
            }

            signals.withLock { $0?.update(teams) }
            let rules = HubFirewall.ruleset(interface: name, teams: teams.map { ($0.prefix, $0.hubAddress) })
            if rules != m!.firewall {
                try HubFirewall.apply(rules)
                m!.firewall = rules
            }
        }
    }

    /// Endpoints of members that completed a handshake with the hub: where their packets come
    /// from (after any NAT).
    private func scan() throws -> [PublicKey: Endpoint] {
        do {
            return try machine.withLock { m -> [PublicKey: Endpoint] in
                guard m != nil else { return [:] }
                try m!.reconciler.refresh()
                var seen: [PublicKey: Endpoint] = [:]
                for (key, p) in m!.reconciler.peers where p.lastHandshake != nil {
                    if let e = p.endpoint { seen[key] = e }
                }
                return seen
            }
        } catch {
            logger.error("hub could not read its interface", metadata: ["error": "\(error)"])
            try checkAlive()
            return [:]
        }
    }

    private func checkAlive() throws {
        if let p = owned.withLock({ $0.process }), !p.isRunning {
            throw CoordinatorError("wireguard-go serving the hub interface \(config.interfaceName) exited (status \(p.exitStatus ?? -1)): \(p.logTail())")
        }
    }

    /// Removes the interface and the rules. A restart recreates both; members ride on direct
    /// paths meanwhile.
    private func tearDown() {
        let name = config.interfaceName
        machine.withLock { $0 = nil }
        signals.withLock { s in
            s?.stop()
            s = nil
        }
        let (device, process) = owned.withLock { o in
            defer { o = (false, nil) }
            return o
        }
        process?.stop()
        if device, Link.exists(name) {
            do { try Link.delete(name) } catch { logger.warning("could not delete the hub interface", metadata: ["interface": "\(name)", "error": "\(error)"]) }
        }
        HubFirewall.remove(interface: name)
        logger.info("hub down", metadata: ["interface": "\(name)"])
    }
}
