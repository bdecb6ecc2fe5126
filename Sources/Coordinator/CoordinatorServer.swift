import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

public struct CoordinatorConfig: Sendable {
    public var stateDirectory: String
    public var listenHost: String
    public var listenPort: Int
    /// HOST:PORT nodes use to reach the control API; written into every token.
    public var publicEndpoints: [Endpoint]
    /// UDP port of the hub's WireGuard interfaces.
    public var wireguardPort: UInt16
    /// The hub relay (a WireGuard interface; needs root). nil: no hub, as in tests that run
    /// unprivileged.
    public var hub: HubConfig?
    /// A group whose members may use the admin socket (0660, the state directory 0710 to that
    /// group: the database and key stay root's); nil: root alone.
    public var socketGroup: gid_t?

    public init(stateDirectory: String, listenHost: String, listenPort: Int, publicEndpoints: [Endpoint] = [], wireguardPort: UInt16 = 51820,
                hub: HubConfig? = nil, socketGroup: gid_t? = nil) {
        self.stateDirectory = stateDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.publicEndpoints = publicEndpoints
        self.wireguardPort = wireguardPort
        self.hub = hub
        self.socketGroup = socketGroup
    }

    public var databasePath: String { stateDirectory + "/coordinator.db" }
    public var keyPath: String { stateDirectory + "/coordinator.key" }
    public var adminSocketPath: String { stateDirectory + "/admin.sock" }
    public var lockPath: String { stateDirectory + "/coordinator.lock" }

    public static let defaultStateDirectory = "/var/lib/teamwire-coordinator"
    public static let defaultSocketGroup = "teamwire-admin"
}

public struct CoordinatorError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// The running coordinator: the public HTTP API and the admin socket, one store, one registry.
public final class CoordinatorServer: Sendable {
    public let config: CoordinatorConfig
    public let registry: Registry
    /// The hub relay, when configured.
    public let hub: Hub?
    let logger: Logger
    let lockFD: Mutex<Int32>
    private let ready = AsyncStream<Int>.makeStream()

    public init(config: CoordinatorConfig, logger: Logger) throws {
        var config = config
        try StateDirectory.prepare(config.stateDirectory)
        if let gid = config.socketGroup {
            // Without CAP_CHOWN (a unit that drops it) the socket stays root's; the rest works.
            do { try StateDirectory.share(config.stateDirectory, with: gid) } catch {
                logger.warning("admin socket stays root's alone", metadata: ["error": "\(error)"])
                config.socketGroup = nil
            }
        }
        self.config = config
        self.logger = logger
        lockFD = Mutex(try StateDirectory.lock(config.lockPath))
        let key = try StateDirectory.loadOrCreateKey(config.keyPath, logger: logger)
        let store = try Store(path: config.databasePath)
        var publicEndpoints = config.publicEndpoints
        if publicEndpoints.isEmpty, config.listenPort != 0, let e = Endpoint(config.listenHost.contains(":") ? "[\(config.listenHost)]:\(config.listenPort)" : "\(config.listenHost):\(config.listenPort)"),
           !["0.0.0.0", "::"].contains(config.listenHost) {
            publicEndpoints = [e]
        }
        let hubEndpoints = publicEndpoints.map { Endpoint(host: $0.host, port: config.wireguardPort) }
        let registry = try Registry(store: store, identity: CoordinatorIdentity(privateKey: key, endpoints: publicEndpoints, hubEndpoints: hubEndpoints), logger: logger)
        self.registry = registry
        hub = config.hub.map { Hub(config: $0, registry: registry, listenPort: config.wireguardPort, logger: logger) }
    }

    deinit { releaseLock() }

    /// Lets another coordinator take this state directory (the server must have stopped).
    public func releaseLock() {
        lockFD.withLock { fd in
            if fd >= 0 { close(fd) }
            fd = -1
        }
    }

    /// The hub (when configured) and the two HTTP services, to run in a ServiceGroup. The first value yielded by
    /// `boundPort` is the public API's port once it listens.
    public func services() throws -> [any Service] {
        try? FileManager.default.removeItem(atPath: config.adminSocketPath)
        let registry = self.registry
        let logger = self.logger
        let cont = ready.continuation
        let listenHost = config.listenHost
        let configuredEndpoints = registry.tokenEndpoints
        let publicApp = Application(
            router: PublicAPI.router(registry),
            configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: "teamwire", backlog: 4096),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                if configuredEndpoints.isEmpty, let e = Endpoint("\(listenHost):\(port)") {
                    registry.setTokenEndpoints([e])
                }
                logger.info("control API listening", metadata: ["address": "\(listenHost):\(port)", "key": "\(registry.identity.publicKey)"])
                cont.yield(port)
            },
            logger: logger)
        let socketPath = config.adminSocketPath
        let socketGroup = config.socketGroup
        let adminApp = Application(
            router: AdminAPI.router(registry),
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "teamwire-admin"),
            onServerRunning: { _ in
                // 0600, whatever the process's umask made it, or shared with the group
                // (its group set first, so it is never 0660 for root's group).
                var about: Logger.Metadata = ["path": "\(socketPath)", "mode": "0600"]
                if let gid = socketGroup, chown(socketPath, uid_t.max, gid) == 0, chmod(socketPath, 0o660) == 0 {
                    (about["mode"], about["group"]) = ("0660", "\(getgrgid(gid).map { String(cString: $0.pointee.gr_name) } ?? String(gid))")
                } else {
                    if socketGroup != nil { logger.warning("admin socket stays root's alone", metadata: ["error": "\(String(cString: strerror(errno)))"]) }
                    chmod(socketPath, 0o600)
                }
                logger.info("admin socket ready", metadata: about)
            },
            logger: logger)
        // Last in the list, so it is the first told to shut down: parked polls are answered
        // before the HTTP servers wait for their open requests. The hub, first, goes last.
        return (hub.map { [$0] } ?? []) + [publicApp, adminApp, PollDrain(registry: registry)]
    }

    /// Waits until the public API listens and returns its port.
    public func boundPort() async -> Int {
        for await p in ready.stream { return p }
        return 0
    }
}

/// Waits for graceful shutdown, then answers every parked long poll.
struct PollDrain: Service {
    let registry: Registry
    func run() async throws {
        try? await gracefulShutdown()
        registry.drainPolls()
    }
}

extension Registry {
    public var tokenEndpoints: [Endpoint] { endpointsBox.withLock { $0 ?? identity.endpoints } }
    func setTokenEndpoints(_ e: [Endpoint]) { endpointsBox.withLock { $0 = e } }
}
