import Agent
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import DaemonFiles
import Logging
import NIOCore
import NIOPosix
import Dispatch
import TeamwireCore
import TeamwireLogging
import WireGuardControl
#if canImport(Glibc)
import Glibc
#endif

@main
enum AgentDaemon {
    static func main() async {
        _ = NIOGlobalExecutor.install()
        let options: AgentOptions
        do {
            switch try AgentOptions.parse(Array(CommandLine.arguments.dropFirst())) {
            case .help:
                writeStandardOutput(AgentOptions.usage)
                exit(0)
            case .version:
                writeStandardOutput(TeamwireVersion.string + "\n")
                exit(0)
            case .run(let o):
                options = o
            }
        } catch {
            // EX_USAGE, like the other commands' usage errors.
            writeStandardError("Error: \(error)\nUsage: \(AgentOptions.synopsis)\n  See 'teamwire-agent --help' for more information.\n")
            exit(64)
        }
        do {
            try await run(options)
        } catch {
            writeStandardError("Error: \(error)\n")
            exit(1)
        }
    }

    static func run(_ options: AgentOptions) async throws {
        guard geteuid() == 0 else {
            throw CLIError("teamwire agent must run as root: it creates WireGuard interfaces and routes (try: sudo teamwire agent)")
        }
        let state = options.state
        if WireGuardDevice.resolve(options.backend) == .userspace {
            do { _ = try WireGuardGo.locate(options.wireguardGo) } catch { throw CLIError("\(error)") }
        }
        let logger = TeamwireLogging.start(level: options.logLevel, format: options.logFormat, label: "teamwire.agent")
        let socketGroup = SocketAccess.group(named: options.socketGroup)
        if socketGroup == nil {
            logger.debug("no such group: agent.sock stays root's alone", metadata: ["group": "\(options.socketGroup)"])
        }
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
            agent = try Agent(config: AgentConfig(stateDirectory: state, backend: options.backend, wireguardGo: options.wireguardGo,
                                                 mdns: options.mdns, rosParticipants: options.rosParticipants,
                                                 discoveryServerCommand: options.discoveryServerCommand, machineIDFile: options.machineIDFile), logger: logger) { why in
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
        let (listening, socketUp) = AsyncStream<Void>.makeStream()
        let server = Task {
            do { try await AgentAPI.serve(agent, socketGroup: socketGroup, logger: logger, listening: { socketUp.yield() }) } catch { stop.yield("agent socket: \(error)") }
        }
        // systemd (Type=notify): ready once the socket listens and every team is up on the
        // current map, or on its cache when the coordinator is away.
        let readiness = Task { await agent.announceReadiness(after: listening) }
        var why = ""
        for await reason in reasons {
            why = reason
            break
        }
        SystemdNotify.send([("STOPPING", "1"), ("STATUS", why.isEmpty ? "stopping" : "stopping: \(why)")])
        readiness.cancel()
        server.cancel()
        await server.value
        signals.forEach { $0.cancel() }
        await agent.shutdown()
        if why.hasPrefix("agent socket:") { throw CLIError(why) }
        if !why.isEmpty { writeStandardError("teamwire agent: stopping: \(why)\n") }
    }
}

/// What FileHandle.standardError.write did (FileHandle is not in FoundationEssentials).
func writeStandardError(_ text: String) { writeAll(text, to: STDERR_FILENO) }

func writeStandardOutput(_ text: String) { writeAll(text, to: STDOUT_FILENO) }
