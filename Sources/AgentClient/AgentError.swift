import TeamwireCore

/// An error of the agent or of its API as the client reads it: one sentence for the user.
public struct AgentError: Error, CustomStringConvertible, Equatable {
    public var description: String
    /// The agent API's error code, when the error came from there.
    public var code: ErrorCode?
    public init(_ d: String, code: ErrorCode? = nil) {
        description = d
        self.code = code
    }
}
