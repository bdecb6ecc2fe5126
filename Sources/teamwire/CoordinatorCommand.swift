import ArgumentParser
import Coordinator
import DaemonFiles
import Foundation
import Logging
import ServiceLifecycle
import TeamwireCore
import TeamwireLogging
import WireGuardControl
#if canImport(Glibc)
import Glibc
#endif

struct CoordinatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Run the coordinator.",
        subcommands: [Serve.self]
    )

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the control API and the admin socket until SIGTERM or SIGINT.",
            discussion: """
                The state directory holds the database (coordinator.db), the coordinator's private key
                (coordinator.key, 0600, created on first start) and the admin socket (admin.sock, 0600).
                When the group --socket-group exists, its members may run the admin commands without
                root: admin.sock is 0660 root:GROUP and the state directory 0710 root:GROUP.
                The control API is plain HTTP: every request and reply is sealed with the node's and
                the coordinator's keys, and tokens pin the coordinator's key.

                The coordinator is also every team's hub: one WireGuard interface (--hub-interface,
                UDP --wireguard-port) with every member as a peer, relaying between members of the
                same team only (nftables table inet teamwire_hub_<interface>; IPv4 forwarding is
                turned on). That needs root; --no-hub runs without it (members then use direct
                paths only).
                """
        )

        @Option(help: ArgumentHelp("State directory.", valueName: "dir"))
        var state: String = CoordinatorConfig.defaultStateDirectory

        @Option(help: ArgumentHelp("Address and port of the control API.", valueName: "host:port"))
        var listen: String

        @Option(name: .customLong("public-endpoint"), help: ArgumentHelp("Where nodes reach the control API (written into tokens); repeatable. Defaults to --listen unless that is a wildcard address.", valueName: "host:port"))
        var publicEndpoints: [String] = []

        @Option(name: .customLong("wireguard-port"), help: "UDP port of the hub's WireGuard interfaces (announced to members).")
        var wireguardPort: UInt16 = 51820

        @Option(name: .customLong("hub-interface"), help: ArgumentHelp("Name of the hub's WireGuard interface.", valueName: "name"))
        var hubInterface: String = HubConfig.defaultInterfaceName

        @Option(name: .customLong("hub-backend"), help: ArgumentHelp("WireGuard backend of the hub: auto (kernel if available, else wireguard-go), kernel or userspace.", valueName: "auto|kernel|userspace"))
        var hubBackend: String = BackendChoice.automatic.rawValue

        @Option(name: .customLong("wireguard-go"), help: ArgumentHelp("wireguard-go executable for the userspace backend (default: found on $PATH).", valueName: "path"))
        var wireguardGo: String?

        @Flag(name: .customLong("no-hub"), help: "Run without the hub relay (no WireGuard interface, no root needed).")
        var noHub = false

        @Option(name: .customLong("socket-group"), help: ArgumentHelp("Members of this group may use the admin socket, when the group exists.", valueName: "name"))
        var socketGroup: String = CoordinatorConfig.defaultSocketGroup

        @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
        var logLevel: String = "info"

        @Option(name: .customLong("log-format"), help: ArgumentHelp("text (millisecond times; priority prefixes instead under systemd) or json (one object per line).", valueName: "text|json"))
        var logFormat: String = LogFormat.text.rawValue

        func validate() throws {
            guard listenParts != nil else { throw ValidationError("--listen must be HOST:PORT, e.g. 0.0.0.0:7946 (got '\(listen)')") }
            for e in publicEndpoints where Endpoint(e) == nil {
                throw ValidationError("--public-endpoint must be HOST:PORT, e.g. coord.example:7946 (got '\(e)')")
            }
            if let why = EnrolmentToken.problem(with: publicEndpoints.compactMap(Endpoint.init)) { throw ValidationError("--public-endpoint: \(why)") }
            if publicEndpoints.isEmpty, let (host, _) = listenParts, ["0.0.0.0", "::"].contains(host) {
                throw ValidationError("--public-endpoint is required when listening on \(host): tokens must say where nodes reach the coordinator")
            }
            guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
            guard LogFormat(rawValue: logFormat) != nil else { throw ValidationError("--log-format must be text or json (got '\(logFormat)')") }
            guard !socketGroup.isEmpty else { throw ValidationError("--socket-group must not be empty") }
            guard BackendChoice(rawValue: hubBackend) != nil else {
                throw ValidationError("--hub-backend must be auto, kernel or userspace (got '\(hubBackend)')")
            }
            if let problem = HubConfig.interfaceNameProblem(hubInterface) {
                throw ValidationError("--hub-interface '\(hubInterface)' \(problem)")
            }
        }

        /// The hub's configuration, or why it cannot run here.
        func hubConfig() throws -> HubConfig? {
            if noHub { return nil }
            guard geteuid() == 0 else {
                throw CLIError("the hub needs root to create its WireGuard interface; run as root or pass --no-hub")
            }
            let choice = BackendChoice(rawValue: hubBackend)!
            var path = wireguardGo
            if WireGuardDevice.resolve(choice) == .userspace {
                do { path = try WireGuardGo.locate(wireguardGo) } catch {
                    throw CLIError("the hub needs wireguard-go here (\(choice == .userspace ? "--hub-backend userspace" : "no kernel WireGuard")): \(error); or pass --no-hub")
                }
            }
            return HubConfig(interfaceName: hubInterface, backend: choice, wireguardGo: path)
        }

        var listenParts: (String, Int)? {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]), (0...65535).contains(port) else { return nil }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard !host.isEmpty else { return nil }
            return (host, port)
        }

        func run() async throws {
            let logger = TeamwireLogging.start(level: Logger.Level(rawValue: logLevel)!, format: LogFormat(rawValue: logFormat)!, label: "teamwire.coordinator")
            let (host, port) = listenParts!
            let gid = SocketAccess.group(named: socketGroup)
            if gid == nil { logger.debug("no such group: admin.sock stays root's alone", metadata: ["group": "\(socketGroup)"]) }
            let config = CoordinatorConfig(stateDirectory: state, listenHost: host, listenPort: port,
                                           publicEndpoints: publicEndpoints.compactMap(Endpoint.init), wireguardPort: wireguardPort,
                                           hub: try hubConfig(), socketGroup: gid)
            // The state, the key and the socket are for root only, whatever the caller's umask (the
            // coordinator also gives each file it creates its mode).
            umask(0o077)
            let server: CoordinatorServer
            do { server = try CoordinatorServer(config: config, logger: logger) } catch {
                throw CLIError("\(error)")
            }
            let group = ServiceGroup(services: try server.services(), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            try await group.run()
        }
    }
}
