@testable import Coordinator
import Testing
import TeamwireCore

/// Which path signals the hub passes on: one team only, floods dropped, and an address that
/// changed hands starts afresh.
@Suite struct SignalRelayRuleTests {
    func key(_ n: UInt8) -> PublicKey { try! PublicKey(rawValue: [UInt8](repeating: n, count: 32)) }
    func addr(_ s: String) -> IPv4Address { IPv4Address(s)! }

    func teams(_ members: [String: [(String, UInt8)]]) -> [HubTeam] {
        members.map { name, ms in
            HubTeam(name: name, prefix: IPv4Prefix("100.64.0.0/24")!, hubAddress: addr("100.64.0.1"),
                    members: ms.map { HubMember(publicKey: key($0.1), address: addr($0.0), endpoint: nil) })
        }
    }

    /// Team iris with 100.64.0.2 and 100.64.0.3.
    func twoMembers() -> SignalRelayRule {
        var rule = SignalRelayRule()
        rule.update(teams(["iris": [("100.64.0.2", 1), ("100.64.0.3", 2)]]))
        return rule
    }

    @Test func onlyBetweenMembersOfOneTeam() {
        var rule = SignalRelayRule()
        rule.update(teams(["iris": [("100.64.0.2", 1), ("100.64.0.3", 2)], "kestrel": [("100.64.1.2", 3)]]))
        let t = ContinuousClock.now
        #expect(rule.admit(.direct, from: addr("100.64.0.2"), to: addr("100.64.0.3"), now: t) == .relay)
        #expect(rule.admit(.direct, from: addr("100.64.0.2"), to: addr("100.64.1.2"), now: t) == .notOneTeam)
        #expect(rule.admit(.relay, from: addr("100.64.0.2"), to: addr("100.64.0.2"), now: t) == .notOneTeam)
        #expect(rule.admit(.relay, from: addr("100.64.0.9"), to: addr("100.64.0.3"), now: t) == .notOneTeam)
        #expect(rule.admit(.relay, from: addr("100.64.0.2"), to: addr("100.64.0.9"), now: t) == .notOneTeam)
    }

    @Test func theSameSignalAtMostOncePerWindow() {
        var rule = twoMembers()
        let t = ContinuousClock.now
        let a = addr("100.64.0.2"), b = addr("100.64.0.3")
        #expect(rule.admit(.direct, from: a, to: b, now: t) == .relay)
        #expect(rule.admit(.direct, from: a, to: b, now: t + .milliseconds(499)) == .flood)
        // Another kind, the other direction: other signals.
        #expect(rule.admit(.relay, from: a, to: b, now: t + .milliseconds(10)) == .relay)
        #expect(rule.admit(.direct, from: b, to: a, now: t + .milliseconds(10)) == .relay)
        #expect(rule.admit(.direct, from: a, to: b, now: t + .milliseconds(500)) == .relay)
        // An unrelated membership change keeps the window.
        rule.update(teams(["iris": [("100.64.0.2", 1), ("100.64.0.3", 2), ("100.64.0.4", 3)]]))
        #expect(rule.admit(.direct, from: a, to: b, now: t + .milliseconds(600)) == .flood)
    }

    /// A member left and another got its address within the window (a laptop leaving and
    /// joining again): its first "direct" is news, not a flood of the old member's.
    @Test func anAddressThatChangedHandsStartsAfresh() {
        var rule = twoMembers()
        let t = ContinuousClock.now
        let a = addr("100.64.0.2"), b = addr("100.64.0.3")
        #expect(rule.admit(.direct, from: a, to: b, now: t) == .relay)
        #expect(rule.admit(.direct, from: b, to: a, now: t) == .relay)
        rule.update(teams(["iris": [("100.64.0.2", 1)]]))
        #expect(rule.admit(.direct, from: a, to: b, now: t + .milliseconds(100)) == .notOneTeam)
        rule.update(teams(["iris": [("100.64.0.2", 1), ("100.64.0.3", 9)]]))
        #expect(rule.admit(.direct, from: a, to: b, now: t + .milliseconds(200)) == .relay)
        #expect(rule.admit(.direct, from: b, to: a, now: t + .milliseconds(200)) == .relay)
        #expect(rule.admit(.direct, from: b, to: a, now: t + .milliseconds(300)) == .flood)
    }
}
