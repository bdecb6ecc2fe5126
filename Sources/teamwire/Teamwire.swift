import ArgumentParser

@main
struct Teamwire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teamwire",
        abstract: "One encrypted WireGuard overlay per robot team, managed by a small coordinator.",
        discussion: """
            Admin commands (team, token, node, audit) talk to the running coordinator through the
            Unix socket in its state directory (default \(AdminOptions.defaultState)).
            """,
        version: "0.1.0",
        subcommands: [CoordinatorCommand.self, TeamCommand.self, TokenCommand.self, NodeCommand.self, AuditCommand.self]
    )
}
