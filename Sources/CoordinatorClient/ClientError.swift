import TeamwireCore

/// What can go wrong talking to the coordinator, worded for the person at the terminal.
public enum ClientError: Error, CustomStringConvertible, Equatable {
    /// The coordinator refused, in a reply authenticated by its key (or, for admin calls, over its socket).
    case refused(APIError)
    /// An error reply that was not sealed: it may not come from the coordinator.
    case unauthenticated(status: Int, APIError?)
    /// No coordinator answered at any endpoint; the request never reached one. The whole sentence:
    /// "cannot reach the coordinator at 192.0.2.1:7946: connection refused".
    case unreachable(String)
    /// The request reached the coordinator but its reply did not come back (the connection broke
    /// or timed out): the coordinator may or may not have carried it out. What happened, as a
    /// sentence: "the coordinator at 192.0.2.1:7946 closed the connection before answering".
    case noReply(String)
    /// The admin socket does not exist or nobody listens on it.
    case noCoordinator(socket: String, reason: String)
    /// A reply that is not what the protocol allows.
    case badReply(String)

    public var description: String {
        switch self {
        case .refused(let e): "coordinator refused: \(e.message) [\(e.code)]"
        case .unauthenticated(let status, let e):
            "HTTP \(status) with an unauthenticated error\(e.map { ": \($0.message) [\($0.code)]" } ?? "") (not sealed by the coordinator's key)"
        case .unreachable(let why): why
        case .noReply(let why): "\(why) (it may have carried out the request)"
        case .noCoordinator(let socket, let reason):
            "no coordinator is running on \(socket) (\(reason)); start one with `teamwire coordinator serve --state DIR --listen HOST:PORT`, or pass --state DIR"
        case .badReply(let why): "unexpected reply from the coordinator: \(why)"
        }
    }

    /// Nothing authoritative came back: asking again may succeed (the coordinator was down,
    /// restarting, or the network dropped the answer).
    public var isTransport: Bool {
        switch self {
        case .unreachable, .noReply: true
        default: false
        }
    }

    /// The coordinator's error code, when it gave one.
    public var code: ErrorCode? {
        switch self {
        case .refused(let e): e.code
        case .unauthenticated(_, let e): e?.code
        default: nil
        }
    }
}
