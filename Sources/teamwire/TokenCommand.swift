import ArgumentParser
import CoordinatorClient
import TeamwireCore

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke enrolment tokens.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an enrolment token and print it.",
            discussion: """
                The printed token carries the coordinator's endpoints and public key (so a node can
                verify it talks to the real coordinator), the team, and a secret. Only a hash of the
                secret is stored: the token is shown once.
                """
        )
        @OptionGroup var options: AdminOptions
        @Argument(help: "Team the token enrols into.") var team: String
        @Option(help: "Number of enrolments the token allows (default 1).") var uses: Int?
        @Flag(help: "Allow any number of enrolments until the token expires or is revoked.") var reusable = false
        @Option(help: ArgumentHelp("Lifetime, e.g. 30m, 24h, 7d (default 24h).", valueName: "duration")) var expires: String?
        @Option(help: "Role of nodes enrolled with it: robot or laptop.") var role: String = "robot"
        @Flag(help: "Print the token and its details as JSON.") var json = false

        func validate() throws {
            if reusable, uses != nil { throw ValidationError("give --uses N or --reusable, not both") }
            if let u = uses, u < 1 { throw ValidationError("--uses must be at least 1") }
            if let e = expires, DurationText.seconds(e) == nil { throw ValidationError("--expires '\(e)' is not a duration like 30m, 24h or 7d") }
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be robot or laptop") }
        }

        func run() async throws {
            let req = CreateTokenRequest(uses: uses, reusable: reusable ? true : nil, expiresInSeconds: expires.flatMap(DurationText.seconds), role: Role(rawValue: role))
            let created = try await admin { () async throws(ClientError) in try await options.client.createToken(team: team, req) }
            if json { Output.json(created); return }
            print(created.token)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a team's tokens (never their secrets).")
        @OptionGroup var options: AdminOptions
        @Argument var team: String
        @Flag(help: "JSON output (an array of tokens).") var json = false

        func run() async throws {
            let tokens = try await admin { () async throws(ClientError) in try await options.client.listTokens(team: team) }
            if json { Output.json(tokens); return }
            Output.table(["ID", "ROLE", "USES", "EXPIRES", "STATE"], tokens.map { t in
                [t.id.description, t.role.rawValue, "\(t.uses)/" + (t.maxUses.map(String.init) ?? "unlimited"), Output.time(t.expiresAt), t.state]
            })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token: it can no longer enrol anyone. Nodes it enrolled stay.")
        @OptionGroup var options: AdminOptions
        @Argument(help: "Token id (16 hex digits, from `token list`).") var id: String

        func run() async throws {
            let t = try await admin { () async throws(ClientError) in try await options.client.revokeToken(id: id) }
            print("revoked token \(t.id) of team \(t.team)")
        }
    }
}
