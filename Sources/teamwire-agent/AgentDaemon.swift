import Agent
import ArgumentParser
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TeamwireCore
import WireGuardControl
#if canImport(Glibc)
import Glibc
#endif

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func startLogging(level: String, label: String) -> Logger {
    let level = Logger.Level(rawValue: level)!
    LoggingSystem.bootstrap { label in
        var h = StreamLogHandler.standardError(label: label)
        h.logLevel = level
        return h
    }
    return Logger(label: label)
}

@main
struct AgentDaemon: AsyncParsableCommand {
    static func main() async {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "teamwire-agent",
        abstract: "Run the node's daemon: owns the WireGuard interfaces and keeps every joined team in sync.",
        discussion: """
            Run it under systemd (config/teamwire-agent.service), from roslaunch, or in a terminal.
            Teams joined before come back up from the state directory at once, even when the
            coordinator is unreachable. Stopping the agent leaves the tunnels up; the next start
            adopts them. `teamwire join`, `status` and `leave` talk to it through agent.sock.
            """
    )

    @Option(name: .long, help: ArgumentHelp("The agent's state directory (its socket lives there).", valueName: "dir"))
    var state: String = TeamStore.defaultRoot

    @Option(help: "WireGuard backend: auto (kernel module if present, else wireguard-go), kernel or userspace.")
    var backend: String = "auto"

    @Option(name: .customLong("wireguard-go"), help: ArgumentHelp("Path of wireguard-go (default: found on PATH).", valueName: "path"))
    var wireguardGo: String?

    @Flag(name: .customLong("no-mdns"), help: "Do not publish members' names and the ROS master on the local avahi-daemon.")
    var noMDNS = false

    @Option(name: .customLong("ros-participants"), help: ArgumentHelp("DDS participants (ROS 2 processes) per member that the generated DDS files let discovery find.", valueName: "n"))
    var rosParticipants = 32

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard BackendChoice(rawValue: backend) != nil else { throw ValidationError("--backend must be auto, kernel or userspace (got '\(backend)')") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level '\(logLevel)'") }
        // CycloneDDS and Fast DDS probe every index on every peer: the range is each peer's cost.
        guard (1...120).contains(rosParticipants) else { throw ValidationError("--ros-participants must be 1...120 (got \(rosParticipants))") }
    }

    func run() async throws {
        guard geteuid() == 0 else {
            throw CLIError("teamwire agent must run as root: it creates WireGuard interfaces and routes (try: sudo teamwire agent)")
        }
        let choice = BackendChoice(rawValue: backend)!
        if WireGuardDevice.resolve(choice) == .userspace {
            do { _ = try WireGuardGo.locate(wireguardGo) } catch { throw CLIError("\(error)") }
        }
        let logger = startLogging(level: logLevel, label: "teamwire.agent")
        // Keys, state and the socket are for root only, whatever the caller's umask.
        umask(0o077)
        let (reasons, stop) = AsyncStream<String>.makeStream()
        let agent: Agent
        let lock: Int32
        do {
            let store = TeamStore(root: state)
            try store.prepare()
            lock = try store.lock()
        } catch {
            throw CLIError("\(error)")
        }
        defer { close(lock) }
        do {
            agent = try Agent(config: AgentConfig(stateDirectory: state, backend: choice, wireguardGo: wireguardGo,
                                                 mdns: !noMDNS, rosParticipants: rosParticipants), logger: logger) { why in
                stop.yield(why)
            }
        } catch {
            throw CLIError("\(error)")
        }
        await agent.restore()
        let watcher = StopWhenRemoved(reasons: reasons)
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: try AgentAPI.service(agent, logger: logger)),
                .init(service: watcher, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do { try await group.run() } catch {
            await agent.shutdown()
            throw error
        }
        await agent.shutdown()
        if let why = watcher.reason.withLock({ $0 }) {
            writeStandardError("teamwire agent: stopping: \(why)\n")
        }
    }
}

import Synchronization

/// What FileHandle.standardError.write did (FileHandle is not in FoundationEssentials).
func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let n = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        if n < 0, errno == EINTR { continue }
        guard n > 0 else { return }
        bytes = bytes.dropFirst(n)
    }
}

/// Ends the agent when the coordinator removed the node from its last team.
final class StopWhenRemoved: Service, Sendable {
    let reasons: AsyncStream<String>
    let reason = Mutex<String?>(nil)

    init(reasons: AsyncStream<String>) { self.reasons = reasons }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            for await why in self.reasons {
                self.reason.withLock { $0 = why }
                return
            }
        }
    }
}
