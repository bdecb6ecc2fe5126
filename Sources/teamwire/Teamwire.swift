import ArgumentParser
import NIOCore
import NIOPosix
import TeamwireCore

@main
struct Teamwire: AsyncParsableCommand {
    /// Swift concurrency runs on NIO's event loop threads, which sleep until there is work:
    /// libdispatch's worker pool (the default executor on Linux) wakes once a second to watch
    /// itself, which an idle robot's agent should not pay for.
    static func main() async {
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "teamwire",
        abstract: "One encrypted WireGuard overlay per robot team, managed by a small coordinator.",
        discussion: """
            On a robot or laptop: `sudo teamwire agent` runs the node's daemon, then `teamwire join
            TOKEN`, `status` and `leave` talk to it.
            Admin commands (team, token, node, audit) talk to the running coordinator through the
            Unix socket in its state directory (default \(AdminOptions.defaultState)).
            """,
        version: TeamwireVersion.string,
        subcommands: [JoinCommand.self, StatusCommand.self, PingCommand.self, DoctorCommand.self, LeaveCommand.self, EnvCommand.self, ExecCommand.self, AgentCommand.self,
                      CoordinatorCommand.self, TeamCommand.self, TokenCommand.self, NodeCommand.self, AuditCommand.self]
    )
}
