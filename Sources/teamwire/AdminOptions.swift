import ArgumentParser
import CoordinatorClient
import Coordinator
import DaemonFiles
import TeamwireCore

/// Options every admin subcommand shares.
struct AdminOptions: ParsableArguments {
    static let defaultState = CoordinatorConfig.defaultStateDirectory

    @Option(name: .long, help: ArgumentHelp("The coordinator's state directory (its admin socket lives there).", valueName: "dir"))
    var state: String = AdminOptions.defaultState

    var client: AdminClient { AdminClient(socketPath: CoordinatorConfig(stateDirectory: state, listenHost: "", listenPort: 0).adminSocketPath) }
}

extension CLIError {
    /// When the admin socket cannot be reached for lack of permission, says so (and which group
    /// to join) instead of "no coordinator is running".
    init(_ e: ClientError) {
        if case .noCoordinator(let socket, _) = e,
           let denied = SocketAccess.denial(socket, daemon: "the coordinator", defaultGroup: CoordinatorConfig.defaultSocketGroup) {
            self.init(denied)
        } else {
            self.init(e.description)
        }
    }
}

/// Runs an admin call, turning client errors into one clear line.
func admin<T>(_ body: () async throws(ClientError) -> T) async throws -> T {
    do { return try await body() } catch { throw CLIError(error) }
}
