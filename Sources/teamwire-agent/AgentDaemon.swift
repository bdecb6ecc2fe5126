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
import Dispatch
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
        // Runs until SIGTERM or SIGINT, the coordinator's removal from the last team, or the
        // socket failing: whichever comes first says why in `stop` ("" for a signal).
        let signals = [SIGTERM, SIGINT].map { sig in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.yield("") }
            source.resume()
            return source
        }
        let server = Task {
            do { try await AgentAPI.serve(agent, logger: logger) } catch { stop.yield("agent socket: \(error)") }
        }
        var why = ""
        for await reason in reasons {
            why = reason
            break
        }
        server.cancel()
        await server.value
        signals.forEach { $0.cancel() }
        await agent.shutdown()
        if why.hasPrefix("agent socket:") { throw CLIError(why) }
        if !why.isEmpty { writeStandardError("teamwire agent: stopping: \(why)\n") }
    }
}


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
