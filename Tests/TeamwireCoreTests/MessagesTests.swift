import Foundation
import Testing
@testable import TeamwireCore

@Suite("Protocol messages")
struct MessagesTests {
    static let settings = TeamSettings(name: "lab", prefix: prefix("100.80.0.0/24"), mode: .relay, rosDomainID: 7, rosMaster: "base")
    static let hub = HubPeer(publicKey: fixedKey(100), address: ip("100.80.0.1"), endpoints: [endpoint("[2001:db8::1]:51820")])
    static func m(_ k: Int, _ last: Int, port: UInt16 = 51820) -> Member {
        Member(name: "n\(k)", publicKey: fixedKey(k), address: ip("100.80.0.\(last)"), role: .robot, endpoints: [Endpoint(host: .name("n\(k).lan"), port: port)])
    }

    /// Our own encoding must pass our own strict decoding, and come back equal.
    static func strictRoundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        let bytes = ControlCodec.encodeJSON(value)
        let back = try StrictJSON.decode(T.self, from: bytes)
        #expect(back == value, "\(String(decoding: bytes, as: UTF8.self))")
        #expect(try JSONDecoder().decode(T.self, from: Data(bytes)) == value)
        return back
    }

    @Test("every message type survives its own strict decoding")
    func roundTrips() throws {
        let token = EnrolmentToken(id: TokenID("0011223344556677")!, secret: [UInt8](repeating: 9, count: 32), coordinatorKey: fixedKey(1),
                                    team: "lab", endpoints: [endpoint("1.2.3.4:5")])
        let full = MapUpdate(revision: 9, full: true, team: Self.settings, hub: Self.hub, members: [Self.m(1, 2), Self.m(2, 3)])
        let delta = MapUpdate(revision: 10, full: false, team: Self.settings, hub: Self.hub, members: nil,
                              added: [Self.m(3, 4)], updated: [Self.m(1, 2, port: 1)], removed: [fixedKey(2)])
        _ = try Self.strictRoundTrip(Empty())
        _ = try Self.strictRoundTrip(EnrollRequest(token: token, name: "r1", endpoints: [endpoint("10.0.0.2:51820")], listenPort: 51820))
        _ = try Self.strictRoundTrip(EnrollRequest(token: token, name: "r1", endpoints: [], listenPort: nil))
        _ = try Self.strictRoundTrip(EnrollReply(node: Self.m(1, 2), map: full))
        _ = try Self.strictRoundTrip(MapRequest(since: .max, waitSeconds: MapRequest.maxWaitSeconds))
        _ = try Self.strictRoundTrip(full)
        _ = try Self.strictRoundTrip(delta)
        _ = try Self.strictRoundTrip(ReportRequest(endpoints: [endpoint("[::1]:9")], listenPort: 9))
        _ = try Self.strictRoundTrip(ReportReply(observedEndpoint: endpoint("198.51.100.1:4"), revision: 3))
        _ = try Self.strictRoundTrip(ReportReply(revision: 3))
        var observed = Self.m(5, 6)
        observed.observedEndpoint = endpoint("198.51.100.1:4")
        observed.role = .laptop
        _ = try Self.strictRoundTrip(observed)
        _ = try Self.strictRoundTrip(Self.settings)
        _ = try Self.strictRoundTrip(TeamSettings(name: "x", prefix: prefix("10.0.0.0/16"), mode: .auto, rosDomainID: 0))
        _ = try Self.strictRoundTrip(Self.hub)
        _ = try Self.strictRoundTrip(CreateTeamRequest(name: "lab", prefix: prefix("100.80.0.0/24"), mode: .direct, rosDomainID: 3))
        _ = try Self.strictRoundTrip(CreateTeamRequest(name: "lab"))
        _ = try Self.strictRoundTrip(TeamInfo(name: "lab", prefix: prefix("100.80.0.0/24"), mode: .auto, rosDomainID: 1, hubAddress: ip("100.80.0.1"),
                                              members: 2, revision: 3, createdAt: 4))
        _ = try Self.strictRoundTrip(CreateTokenRequest(uses: 3, reusable: false, expiresInSeconds: 60, role: .laptop))
        _ = try Self.strictRoundTrip(CreateTokenRequest())
        let info = TokenInfo(id: TokenID("0011223344556677")!, team: "lab", role: .robot, maxUses: 1, uses: 0, expiresAt: 5, revokedAt: 6, createdAt: 1, state: "revoked")
        _ = try Self.strictRoundTrip(info)
        _ = try Self.strictRoundTrip(CreatedToken(info: info, token: token.text))
        _ = try Self.strictRoundTrip(NodeInfo(team: "lab", name: "r1", publicKey: fixedKey(1), address: ip("100.80.0.2"), role: .robot,
                                              endpoints: [], enrolledAt: 1, lastSeen: 2, rosMaster: true))
        _ = try Self.strictRoundTrip(SetRosMasterRequest(name: "r1"))
        _ = try Self.strictRoundTrip(AuditEvent(id: 1, time: 2, actor: "admin:root", team: "lab", action: "team.create", outcome: "ok"))
        _ = try Self.strictRoundTrip(CoordinatorInfo(publicKey: fixedKey(1), endpoints: [endpoint("a.example:1")], version: TeamwireVersion.string))
        _ = try Self.strictRoundTrip(CoordinatorStats(teams: 1, members: 2, waitingPolls: 3))
        _ = try Self.strictRoundTrip(ErrorBody(APIError(.nameTaken, "taken")))
    }

    @Test("enrol requests carry the token's id, team and secret")
    func enrollFromToken() {
        let token = EnrolmentToken(id: TokenID("0011223344556677")!, secret: (0..<32).map { UInt8($0) }, coordinatorKey: fixedKey(1),
                                    team: "lab", endpoints: [endpoint("1.2.3.4:5")])
        let r = EnrollRequest(token: token, name: "r1", endpoints: [], listenPort: 7)
        #expect(r.tokenID == token.id)
        #expect(r.team == "lab")
        #expect(Base64.decode(r.secret) == token.secret)
        #expect(r.name == "r1" && r.listenPort == 7)
    }

    @Test("a full map replaces what the node holds, sorted by address")
    func applyFull() {
        let u = MapUpdate(revision: 2, full: true, team: Self.settings, hub: Self.hub, members: [Self.m(1, 9), Self.m(2, 3), Self.m(3, 100)])
        #expect(u.applied(to: [Self.m(7, 7)]).map(\.publicKey) == [fixedKey(2), fixedKey(1), fixedKey(3)])
        #expect(!u.isEmptyDelta)
        let none = MapUpdate(revision: 2, full: true, team: Self.settings, hub: Self.hub, members: nil)
        #expect(none.applied(to: [Self.m(7, 7)]).isEmpty)
    }

    @Test("a delta removes, adds and replaces")
    func applyDelta() {
        let current = [Self.m(1, 2), Self.m(2, 3), Self.m(3, 4)]
        let u = MapUpdate(revision: 3, full: false, team: Self.settings, hub: Self.hub, members: nil,
                          added: [Self.m(4, 5)], updated: [Self.m(2, 3, port: 9)], removed: [fixedKey(3), fixedKey(99)])
        #expect(u.applied(to: current) == [Self.m(1, 2), Self.m(2, 3, port: 9), Self.m(4, 5)])
        #expect(!u.isEmptyDelta)
        let empty = MapUpdate(revision: 3, full: false, team: Self.settings, hub: Self.hub, members: nil)
        #expect(empty.isEmptyDelta)
        #expect(empty.applied(to: current.reversed()) == current)
        // A key both removed and re-added in one delta ends up present.
        let readd = MapUpdate(revision: 4, full: false, team: Self.settings, hub: Self.hub, members: nil, added: [Self.m(3, 4, port: 1)], removed: [fixedKey(3)])
        #expect(readd.applied(to: current).last == Self.m(3, 4, port: 1))
    }

    @Test("enumerations have stable wire names")
    func wireNames() {
        #expect(PathMode.allCases.map(\.rawValue) == ["auto", "direct", "relay"])
        #expect(Role.allCases.map(\.rawValue) == ["robot", "laptop"])
        #expect(TeamwireCore.Operation.allCases.map(\.rawValue) == ["enroll", "map", "report", "leave"])
        #expect(TeamSettings.rosDomainIDs == 0...101)
        #expect(ErrorCode.malformedToken.rawValue == "malformed_token")
        #expect(ErrorCode.internalError.rawValue == "internal")
    }

    @Test("sealed request JSON has sorted keys and unescaped slashes")
    func envelopeJSON() {
        let json = String(decoding: ControlCodec.encodeJSON(SealedRequest(op: .map, ts: 5, body: ReportRequest(endpoints: [], listenPort: nil))), as: UTF8.self)
        #expect(json == "{\"body\":{\"endpoints\":[]},\"op\":\"map\",\"ts\":5,\"type\":\"request\"}")
        let prefixJSON = String(decoding: ControlCodec.encodeJSON(Self.settings), as: UTF8.self)
        #expect(prefixJSON.contains("\"100.80.0.0/24\""))
    }
}
