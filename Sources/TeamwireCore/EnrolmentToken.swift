/// The enrolment token an admin hands to a robot: one copy-pasteable string carrying everything a
/// node needs to enrol safely: where the coordinator is, the coordinator's public key (the pin),
/// the team, and the token's id and secret.
///
/// Text form: `twt1-` + base64url (no padding) of
///   version(1) id(8) secret(32) coordinatorKey(32) teamLen(1) team endpointCount(1)
///   { len(1) endpoint }* checksum(4)
/// where checksum is the first 4 bytes of BLAKE2b over everything before it, so a truncated or
/// mistyped token is reported as damaged rather than as a wrong secret.
public struct EnrolmentToken: Sendable, Equatable {
    public static let prefix = "twt1-"
    static let version: UInt8 = 1

    public var id: TokenID
    public var secret: [UInt8]
    public var coordinatorKey: PublicKey
    public var team: String
    public var endpoints: [Endpoint]

    /// Each endpoint and the team name carry a one-byte length in the text form.
    public static let maxEndpointBytes = 255
    public static let maxEndpoints = 16

    /// Why these coordinator endpoints cannot go into a token, or nil if they can.
    public static func problem(with endpoints: [Endpoint]) -> String? {
        if endpoints.count > maxEndpoints { return "at most \(maxEndpoints) public endpoints fit in a token (got \(endpoints.count))" }
        if let long = endpoints.first(where: { $0.description.utf8.count > maxEndpointBytes }) {
            return "a public endpoint must be at most \(maxEndpointBytes) bytes (got \(long.description.utf8.count))"
        }
        return nil
    }

    public init(id: TokenID, secret: [UInt8], coordinatorKey: PublicKey, team: String, endpoints: [Endpoint]) {
        precondition(secret.count == 32)
        precondition(Self.problem(with: endpoints) == nil && team.utf8.count <= 255, "checked when the coordinator starts")
        self.id = id
        self.secret = secret
        self.coordinatorKey = coordinatorKey
        self.team = team
        self.endpoints = endpoints
    }

    public static func == (a: EnrolmentToken, b: EnrolmentToken) -> Bool {
        a.id == b.id && Sodium.constantTimeEqual(a.secret, b.secret) && a.coordinatorKey == b.coordinatorKey
            && a.team == b.team && a.endpoints == b.endpoints
    }

    public var text: String {
        var b: [UInt8] = [Self.version]
        b += id.bytes
        b += secret
        b += coordinatorKey.rawValue
        let t = Array(team.utf8)
        b.append(UInt8(t.count)); b += t
        b.append(UInt8(endpoints.count))
        for e in endpoints {
            let s = Array(e.description.utf8)
            b.append(UInt8(s.count)); b += s
        }
        b += Sodium.hash(b).prefix(4)
        return Self.prefix + Base64.encode(b, url: true)
    }

    public init(parsing raw: String) throws(APIError) {
        func bad(_ why: String) -> APIError { APIError(.malformedToken, "this is not a valid teamwire token: \(why)") }
        let text = raw.trimmingWhitespace()
        guard text.hasPrefix(Self.prefix) else {
            throw bad(text.hasPrefix("twt") ? "unsupported token version (this teamwire reads \(Self.prefix) tokens)" : "it should start with \(Self.prefix)")
        }
        guard text.utf8.count < 4096, let b = Base64.decode(String(text.dropFirst(Self.prefix.count)), url: true) else {
            throw bad("it contains characters outside base64url or is cut short")
        }
        guard b.count >= 1 + 8 + 32 + 32 + 1 + 1 + 4 else { throw bad("it is too short (truncated when copied?)") }
        guard Sodium.constantTimeEqual(Array(Sodium.hash(Array(b.dropLast(4))).prefix(4)), Array(b.suffix(4))) else {
            throw bad("its checksum does not match (damaged or truncated when copied?)")
        }
        guard b[0] == Self.version else { throw bad("unsupported token version \(b[0])") }
        var i = 1
        func take(_ n: Int) throws(APIError) -> [UInt8] {
            guard i + n <= b.count - 4 else { throw bad("it is truncated") }
            defer { i += n }
            return Array(b[i..<(i + n)])
        }
        let id = TokenID(bytes: try take(8))
        let secret = try take(32)
        guard let key = try? PublicKey(rawValue: try take(32)) else { throw bad("bad coordinator key") }
        let teamLen = Int(try take(1)[0])
        guard let team = String(validating: try take(teamLen), as: UTF8.self), Names.isValidLabel(team) else {
            throw bad("the team name inside is invalid")
        }
        let count = Int(try take(1)[0])
        guard count >= 1 else { throw bad("it names no coordinator endpoint") }
        // The initializer's preconditions hold for tokens the coordinator makes; a crafted one is refused here.
        guard count <= Self.maxEndpoints else { throw bad("it names \(count) coordinator endpoints (at most \(Self.maxEndpoints))") }
        var endpoints: [Endpoint] = []
        for _ in 0..<count {
            let len = Int(try take(1)[0])
            guard let s = String(validating: try take(len), as: UTF8.self), let e = Endpoint(s) else {
                throw bad("a coordinator endpoint inside is invalid")
            }
            endpoints.append(e)
        }
        guard i == b.count - 4 else { throw bad("it has trailing bytes") }
        self.init(id: id, secret: secret, coordinatorKey: key, team: team, endpoints: endpoints)
    }
}

/// A token's public id: 8 random bytes, shown as 16 hex digits in listings and audit entries.
public struct TokenID: Hashable, Sendable, Codable, CustomStringConvertible {
    public let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }

    public static func random() -> TokenID { TokenID(bytes: Sodium.randomBytes(8)) }

    public init?(_ hex: String) {
        guard hex.utf8.count == 16, let b = Hex.decode(hex.lowercased()) else { return nil }
        self.bytes = b
    }

    public var description: String { Hex.encode(bytes) }

    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let id = TokenID(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid token id"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension String {
    package func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
