import ArgumentParser
import CoordinatorClient
import TeamwireCore

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show the append-only audit log: admin actions, enrolments (accepted and refused), removals."
    )
    @OptionGroup var options: AdminOptions
    @Option(help: "Only this team's events.") var team: String?
    @Option(help: "Show at most this many of the newest events.") var limit: Int = 1000
    @Flag(help: "JSON output (an array of events, oldest first).") var json = false

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() async throws {
        let events = try await admin { () async throws(ClientError) in try await options.client.audit(team: team, limit: limit) }
        if json { Output.json(events); return }
        Output.table(["TIME", "ACTOR", "TEAM", "ACTION", "SUBJECT", "OUTCOME", "DETAIL"], events.map {
            [Output.time($0.time), $0.actor, $0.team ?? "-", $0.action, $0.subject ?? "-", $0.outcome, $0.detail ?? ""]
        })
    }
}
