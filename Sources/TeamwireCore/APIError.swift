/// A machine-readable error code. A struct rather than an enum so that a client still decodes
/// codes added by a newer coordinator.
public struct ErrorCode: RawRepresentable, Hashable, Codable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ raw: String) { self.rawValue = raw }
    public var description: String { rawValue }

    // Request shape
    public static let badRequest = ErrorCode("bad_request")
    public static let bodyTooLarge = ErrorCode("body_too_large")
    public static let badEnvelope = ErrorCode("bad_envelope")
    public static let unsupportedVersion = ErrorCode("unsupported_version")
    public static let notFound = ErrorCode("not_found")
    // Sealed-request authentication
    public static let cannotOpen = ErrorCode("cannot_open")
    public static let replayed = ErrorCode("replayed")
    public static let clockSkew = ErrorCode("clock_skew")
    public static let unknownNode = ErrorCode("unknown_node")
    public static let nodeRemoved = ErrorCode("node_removed")
    // Tokens
    public static let malformedToken = ErrorCode("malformed_token")
    public static let unknownToken = ErrorCode("unknown_token")
    public static let tokenExpired = ErrorCode("token_expired")
    public static let tokenRevoked = ErrorCode("token_revoked")
    public static let tokenUsedUp = ErrorCode("token_used_up")
    public static let wrongTeam = ErrorCode("wrong_team")
    // Teams and nodes
    public static let invalidName = ErrorCode("invalid_name")
    public static let teamExists = ErrorCode("team_exists")
    public static let teamNotFound = ErrorCode("team_not_found")
    public static let invalidPrefix = ErrorCode("invalid_prefix")
    public static let prefixOverlap = ErrorCode("prefix_overlap")
    public static let noFreePrefix = ErrorCode("no_free_prefix")
    public static let prefixFull = ErrorCode("prefix_full")
    public static let nameTaken = ErrorCode("name_taken")
    public static let keyInOtherTeam = ErrorCode("key_in_other_team")
    public static let nodeNotFound = ErrorCode("node_not_found")
    public static let tokenNotFound = ErrorCode("token_not_found")
    public static let invalidArgument = ErrorCode("invalid_argument")
    public static let internalError = ErrorCode("internal")
}

/// An error as it crosses the wire: a stable code and a sentence for people.
public struct APIError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    /// The coordinator's clock (Unix ms), sent with clock_skew so that a node can correct itself.
    public var serverTime: Int64?

    public init(_ code: ErrorCode, _ message: String, serverTime: Int64? = nil) {
        self.code = code
        self.message = message
        self.serverTime = serverTime
    }

    public var description: String { "\(message) [\(code)]" }
}
