import Foundation
import Testing
import TeamwireCore

@Suite("Team settings: ROS 2 discovery and RMW")
struct TeamSettingsTests {
    let prefix = IPv4Prefix("100.64.0.0/24")!

    @Test("a map cached by an older agent (no ROS 2 settings) loads as peers with no RMW choice")
    func oldCache() throws {
        let old = #"{"name":"iris","prefix":"100.64.0.0/24","mode":"auto","rosDomainID":3,"rosMaster":"robot1"}"#
        let s = try JSONDecoder().decode(TeamSettings.self, from: Data(old.utf8))
        #expect(s == TeamSettings(name: "iris", prefix: prefix, mode: .auto, rosDomainID: 3, rosMaster: "robot1"))
        #expect(s.rosDiscovery == .peers && s.discoveryServer == nil && s.rmwImplementation == nil)
        let update = #"{"revision":4,"full":true,"team":\#(old),"hub":{"publicKey":"\#(try PublicKey(rawValue: Array(repeating: 1, count: 32)).base64Key)","address":"100.64.0.1","endpoints":[]},"members":[],"added":[],"updated":[],"removed":[]}"#
        #expect(try JSONDecoder().decode(MapUpdate.self, from: Data(update.utf8)).team == s)
    }

    @Test("the new settings survive a round trip; an older agent's decoder ignores them")
    func roundTrip() throws {
        let s = TeamSettings(name: "iris", prefix: prefix, mode: .relay, rosDomainID: 9, rosMaster: nil,
                             rosDiscovery: .server, discoveryServer: "robot2", rmwImplementation: "rmw_fastrtps_cpp")
        let data = try JSONEncoder().encode(s)
        #expect(try JSONDecoder().decode(TeamSettings.self, from: data) == s)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""rosDiscovery":"server""#) && text.contains(#""discoveryServer":"robot2""#) && text.contains(#""rmwImplementation":"rmw_fastrtps_cpp""#))
        // What an agent from before these settings decodes: the same fields, unknown keys ignored.
        struct OldSettings: Decodable, Equatable { var name: String; var prefix: IPv4Prefix; var mode: PathMode; var rosDomainID: Int; var rosMaster: String? }
        #expect(try JSONDecoder().decode(OldSettings.self, from: data) == OldSettings(name: "iris", prefix: prefix, mode: .relay, rosDomainID: 9, rosMaster: nil))
    }

    @Test("a discovery mode from a newer coordinator reads as peers rather than failing the whole map")
    func unknownMode() throws {
        let newer = #"{"name":"iris","prefix":"100.64.0.0/24","mode":"auto","rosDomainID":3,"rosDiscovery":"easy"}"#
        #expect(try JSONDecoder().decode(TeamSettings.self, from: Data(newer.utf8)).rosDiscovery == .peers)
    }

    @Test("the admin request is strict: unknown fields and modes are refused")
    func strictRequest() throws {
        #expect(try StrictJSON.decode(SetTeamSettingsRequest.self, from: Array(#"{"rosDiscovery":"server","discoveryServer":"robot1","rmwImplementation":"none"}"#.utf8))
            == SetTeamSettingsRequest(rosDiscovery: .server, discoveryServer: "robot1", rmwImplementation: "none"))
        #expect(throws: APIError.self) { try StrictJSON.decode(SetTeamSettingsRequest.self, from: Array(#"{"rosDiscovery":"easy"}"#.utf8)) }
        #expect(throws: APIError.self) { try StrictJSON.decode(SetTeamSettingsRequest.self, from: Array(#"{"rmw":"rmw_x"}"#.utf8)) }
    }
}
