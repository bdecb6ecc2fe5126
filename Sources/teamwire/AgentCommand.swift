import AgentClient
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TeamwireCore
import WireGuardControl

/// Options the node subcommands share.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The agent's state directory (its socket lives there).", valueName: "dir"))
    var state: String = AgentStateDirectory.defaultRoot

    var client: AgentClient { AgentClient(stateDirectory: state) }
}

/// `teamwire agent` is the daemon, `teamwire-agent`, installed beside `teamwire` (as tailscaled
/// beside tailscale): the daemon links only what a robot runs all day, not the coordinator, its
/// database and the admin CLI, so it stays small in memory. This command replaces itself with
/// the daemon, passing every argument on (`teamwire agent --help` is the daemon's help).
struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the node's daemon (teamwire-agent): owns the WireGuard interfaces and keeps every joined team in sync.",
        discussion: "Every option is the daemon's: see `teamwire agent --help`.",
        helpNames: []
    )

    @Argument(parsing: .captureForPassthrough, help: "Options of teamwire-agent.")
    var arguments: [String] = []

    func run() throws {
        let daemon = Self.daemonPath()
        guard access(daemon, X_OK) == 0 else {
            throw CLIError("the agent daemon \(daemon) is missing: install teamwire-agent beside teamwire (swift build --product teamwire-agent)")
        }
        let argv = [daemon] + arguments
        var cargs = argv.map { strdup($0) } + [nil]
        execv(daemon, &cargs)
        throw CLIError("cannot start \(daemon): \(String(cString: strerror(errno)))")
    }

    /// teamwire-agent in the directory of this executable.
    static func daemonPath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        let me = n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
        let dir = me.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return (dir.isEmpty ? "." : dir) + "/teamwire-agent"
    }
}
