import Testing
import TeamwireCore
@testable import WireGuardControl

/// A planned peer becomes the configuration reconcile takes: "keep learnt" writes no endpoint
/// once the device has one, so the reconciler leaves WireGuard's learnt endpoint alone.
@Suite struct PlannedPeersTests {
    let key = PrivateKey.generate().publicKey
    let initial = Endpoint("192.0.2.1:51820")!
    let learnt = Endpoint("203.0.113.5:40000")!

    @Test func keepLearntWritesAnEndpointOnlyToAPeerWithout() {
        let p = PlannedPeer(publicKey: key, endpoint: .keepLearnt(initial: initial), allowedIPs: [.host(IPv4Address("100.64.0.2")!)], keepalive: 25)
        let fresh = PeerConfiguration(p, deviceEndpoint: nil)
        #expect(fresh == PeerConfiguration(publicKey: key, endpoint: initial, allowedIPs: [.host(IPv4Address("100.64.0.2")!)], persistentKeepalive: 25))
        #expect(PeerConfiguration(p, deviceEndpoint: learnt).endpoint == nil)
        // Reconciled against a device holding the learnt endpoint: nothing to write.
        var have = PeerState(publicKey: key)
        have.endpoint = learnt
        have.allowedIPs = [.host(IPv4Address("100.64.0.2")!)]
        have.persistentKeepalive = 25
        #expect(Reconcile.peerChange(have, PeerConfiguration(p, deviceEndpoint: have.endpoint)) == nil)
    }

    @Test func setOverwritesWhatTheDeviceLearnt() {
        let p = PlannedPeer(publicKey: key, endpoint: .set(initial), allowedIPs: [], keepalive: 1)
        #expect(PeerConfiguration(p, deviceEndpoint: learnt).endpoint == initial)
        var have = PeerState(publicKey: key)
        have.endpoint = learnt
        have.persistentKeepalive = 1
        #expect(Reconcile.peerChange(have, PeerConfiguration(p, deviceEndpoint: have.endpoint))?.endpoint == initial)
    }

    @Test func prefixesAndKeepaliveCarryOver() {
        let prefix = IPv4Prefix("100.64.0.0/24")!
        let c = PeerConfiguration(PlannedPeer(publicKey: key, endpoint: .keepLearnt(initial: nil), allowedIPs: [prefix]), deviceEndpoint: nil)
        #expect(c.allowedIPs == [IPAddressRange(prefix)])
        #expect(c.persistentKeepalive == nil)
        #expect(c.endpoint == nil)
    }
}
