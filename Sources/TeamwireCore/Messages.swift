/// The node-to-coordinator control protocol. Every request and reply is JSON inside a sealed
/// `Envelope`; the HTTP path names the operation and must agree with `op` inside the box, so a
/// captured box cannot be replayed against another endpoint.
public enum Operation: String, Codable, Sendable, CaseIterable {
    case enroll, map, report, leave

    public var path: String { "/v1/\(rawValue)" }
}

public struct SealedRequest<Body: Codable & Sendable>: Codable, Sendable {
    public var type: String = "request"
    public var op: Operation
    /// Sender's clock, Unix milliseconds.
    public var ts: Int64
    public var body: Body
}

/// The request's outer fields, read before the body's type is known.
struct SealedRequestHead: Codable {
    var type: String
    var op: Operation
    var ts: Int64
}

public struct SealedReply<Body: Codable & Sendable>: Codable, Sendable {
    public var type: String = "reply"
    /// The request's nonce (base64): binds the reply to the request it answers.
    public var inReplyTo: String
    public var ts: Int64
    public var ok: Body?
    public var error: APIError?
}

public struct Empty: Codable, Sendable, Equatable {
    public init() {}

    /// Requires an object: the synthesized decoder reads nothing, so it took `null`, `5` or `"x"` for an empty body.
    public init(from decoder: Decoder) throws {
        _ = try decoder.container(keyedBy: NoKeys.self)
    }

    private struct NoKeys: CodingKey {
        var stringValue: String { "" }
        var intValue: Int? { nil }
        init?(stringValue: String) { nil }
        init?(intValue: Int) { nil }
    }
}

public struct EnrollRequest: Codable, Sendable, Equatable {
    public var tokenID: TokenID
    /// The token secret, base64.
    public var secret: String
    public var team: String
    public var name: String
    public var endpoints: [Endpoint]
    public var listenPort: UInt16?
    /// The hash of the node's machine id (`MachineID`), when it has one.
    public var machineID: String?

    public init(tokenID: TokenID, secret: String, team: String, name: String, endpoints: [Endpoint], listenPort: UInt16?, machineID: String? = nil) {
        self.tokenID = tokenID
        self.secret = secret
        self.team = team
        self.name = name
        self.endpoints = endpoints
        self.listenPort = listenPort
        self.machineID = machineID
    }

    public init(token: EnrolmentToken, name: String, endpoints: [Endpoint], listenPort: UInt16?, machineID: String? = nil) {
        self.init(tokenID: token.id, secret: Base64.encode(token.secret), team: token.team, name: name, endpoints: endpoints, listenPort: listenPort,
                  machineID: machineID)
    }
}

public struct EnrollReply: Codable, Sendable, Equatable {
    /// The enrolled node as the team sees it (its address is stable across re-enrolment).
    public var node: Member
    /// The full team map at enrolment.
    public var map: MapUpdate

    public init(node: Member, map: MapUpdate) {
        self.node = node
        self.map = map
    }
}

public struct MapRequest: Codable, Sendable, Equatable {
    /// The revision the node already has; 0 for none.
    public var since: UInt64
    /// How long the coordinator may hold the request waiting for a change (0 answers at once).
    public var waitSeconds: Int

    public init(since: UInt64, waitSeconds: Int) {
        self.since = since
        self.waitSeconds = waitSeconds
    }

    public static let maxWaitSeconds = 120
}

/// A team map, whole or as the change since a revision the node named.
public struct MapUpdate: Codable, Sendable, Equatable {
    public var revision: UInt64
    /// True when `members` is the whole team; false for a delta (possibly empty on timeout).
    public var full: Bool
    public var team: TeamSettings
    public var hub: HubPeer
    /// All members, for a full map.
    public var members: [Member]?
    public var added: [Member]
    public var updated: [Member]
    public var removed: [PublicKey]

    public init(revision: UInt64, full: Bool, team: TeamSettings, hub: HubPeer, members: [Member]?, added: [Member] = [], updated: [Member] = [], removed: [PublicKey] = []) {
        self.revision = revision
        self.full = full
        self.team = team
        self.hub = hub
        self.members = members
        self.added = added
        self.updated = updated
        self.removed = removed
    }

    public var isEmptyDelta: Bool { !full && added.isEmpty && updated.isEmpty && removed.isEmpty }

    /// Applies this update to a member list the node holds, returning the new list sorted by address.
    public func applied(to current: [Member]) -> [Member] {
        if full { return (members ?? []).sorted { $0.address < $1.address } }
        var byKey = Dictionary(current.map { ($0.publicKey, $0) }, uniquingKeysWith: { _, b in b })
        for k in removed { byKey[k] = nil }
        for m in added + updated { byKey[m.publicKey] = m }
        return byKey.values.sorted { $0.address < $1.address }
    }
}

public struct ReportRequest: Codable, Sendable, Equatable {
    public var endpoints: [Endpoint]
    public var listenPort: UInt16?
    /// The hash of the node's machine id (`MachineID`); nil keeps the one on record.
    public var machineID: String?

    public init(endpoints: [Endpoint], listenPort: UInt16?, machineID: String? = nil) {
        self.endpoints = endpoints
        self.listenPort = listenPort
        self.machineID = machineID
    }

    public static let maxEndpoints = 32
}

public struct ReportReply: Codable, Sendable, Equatable {
    /// The outside endpoint the coordinator recorded for this node, if any.
    public var observedEndpoint: Endpoint?
    public var revision: UInt64

    public init(observedEndpoint: Endpoint? = nil, revision: UInt64) {
        self.observedEndpoint = observedEndpoint
        self.revision = revision
    }
}
