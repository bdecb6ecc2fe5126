import ArgumentParser

@main
struct Teamwire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teamwire",
        abstract: "One encrypted WireGuard overlay per robot team, managed by a small coordinator.",
        discussion: """
            On a robot or laptop: `sudo teamwire agent` runs the node's daemon, then `teamwire join
            TOKEN`, `status` and `leave` talk to it.
            Admin commands (team, token, node, audit) talk to the running coordinator through the
            Unix socket in its state directory (default \(AdminOptions.defaultState)).
            """,
        version: "0.1.0",
        subcommands: [JoinCommand.self, StatusCommand.self, LeaveCommand.self, AgentCommand.self,
                      CoordinatorCommand.self, TeamCommand.self, TokenCommand.self, NodeCommand.self, AuditCommand.self]
    )
}
