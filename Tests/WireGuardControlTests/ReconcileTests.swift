import Testing
import TeamwireCore
@testable import WireGuardControl
import TestSupport

/// A model of a WireGuard device applying updates, written from the documented semantics.
func modelApply(_ u: DeviceUpdate, to s: inout DeviceState) {
    if let k = u.privateKey { s.privateKey = k }
    if let p = u.listenPort { s.listenPort = p }
    if let m = u.fwmark { s.fwmark = m }
    if u.replacePeers { s.peers = [] }
    for p in u.peers {
        let i = s.peers.firstIndex { $0.publicKey == p.publicKey }
        if p.remove { if let i { s.peers.remove(at: i) }; continue }
        if i == nil, p.updateOnly { continue }
        var peer = i.map { s.peers[$0] } ?? PeerState(publicKey: p.publicKey)
        if let k = p.presharedKey { peer.presharedKey = k }
        if let e = p.endpoint { peer.endpoint = e }
        if let k = p.persistentKeepalive { peer.persistentKeepalive = k }
        if p.replaceAllowedIPs { peer.allowedIPs = [] }
        for a in p.allowedIPs where !peer.allowedIPs.contains(a) { peer.allowedIPs.append(a) }
        if let i { s.peers[i] = peer } else { s.peers.append(peer) }
        // Allowed IPs form one routing table: an IP given to this peer leaves every other.
        for j in s.peers.indices where s.peers[j].publicKey != p.publicKey {
            s.peers[j].allowedIPs.removeAll { p.allowedIPs.contains($0) }
        }
    }
}

struct ReconcileTests {
    static let keys = (0..<12).map { _ in PrivateKey.generate().publicKey }
    static let psk = PresharedKey.generate()

    static func randomPeer(_ key: PublicKey, _ rng: inout SeededRNG) -> PeerConfiguration {
        let n = Int.random(in: 0...3, using: &rng)
        let ips = (0..<n).map { _ in IPAddressRange.host(IPv4Address(0x6440_0000 + UInt32.random(in: 1...20, using: &rng))) }
        return PeerConfiguration(
            publicKey: key,
            presharedKey: Bool.random(using: &rng) ? psk : nil,
            endpoint: Bool.random(using: &rng) ? Endpoint(host: .ipv4(IPv4Address(0xC000_0200 + UInt32.random(in: 1...3, using: &rng))), port: 51820) : nil,
            allowedIPs: Array(Set(ips)),
            persistentKeepalive: [nil, 0, 25][Int.random(in: 0...2, using: &rng)])
    }

    static func randomConfig(_ rng: inout SeededRNG) -> DeviceConfiguration {
        var taken = Set<IPAddressRange>()
        let peers = keys.filter { _ in Bool.random(using: &rng) }.map { k in
            // A valid configuration gives each allowed IP to one peer.
            var p = randomPeer(k, &rng)
            p.allowedIPs = p.allowedIPs.filter { taken.insert($0).inserted }
            return p
        }
        return DeviceConfiguration(interface: .init(listenPort: [nil, 51820, 51821][Int.random(in: 0...2, using: &rng)]), peers: peers)
    }

    /// From any state to any desired config: the update reaches it, mentions only peers that
    /// differ, and a second reconcile writes nothing.
    @Test(arguments: 0..<300)
    func reconcileReachesTheDesiredStateMinimally(seed: Int) {
        var rng = SeededRNG(seed: UInt64(seed))
        var state = DeviceState(name: "wg0")
        modelApply(DeviceUpdate(replacingWith: Self.randomConfig(&rng)), to: &state)
        let before = state
        let desired = Self.randomConfig(&rng)
        let u = Reconcile.update(from: state, to: desired)
        modelApply(u, to: &state)

        #expect(Set(state.peers.map(\.publicKey)) == Set(desired.peers.map(\.publicKey)))
        for want in desired.peers {
            let got = state.peer(want.publicKey)!
            #expect(Set(got.allowedIPs) == Set(want.allowedIPs))
            #expect(got.presharedKey == (want.presharedKey ?? .zero))
            #expect(got.persistentKeepalive == (want.persistentKeepalive ?? 0))
            if let e = want.endpoint { #expect(got.endpoint == e) } else { #expect(got.endpoint == before.peer(want.publicKey)?.endpoint) }
            let old = before.peer(want.publicKey)
            let mentioned = u.peers.contains { $0.publicKey == want.publicKey }
            let differs = old == nil || Reconcile.peerChange(old!, want) != nil
            #expect(mentioned == differs)
            if let old, mentioned { #expect(u.peers.first { $0.publicKey == want.publicKey }!.updateOnly, "\(old.publicKey)") }
        }
        if let p = desired.interface.listenPort { #expect(state.listenPort == p) }
        #expect(Reconcile.update(from: state, to: desired).isEmpty)
        #expect(!u.replacePeers)
    }

    @Test func unchangedPeersAreNotTouchedAtTenThousand() {
        var state = DeviceState(name: "wg0")
        let peers = (0..<10_000).map { i in
            PeerConfiguration(publicKey: PrivateKey.generate().publicKey, allowedIPs: [.host(IPv4Address(0x6440_0000 + UInt32(i + 2)))])
        }
        modelApply(DeviceUpdate(replacingWith: .init(peers: peers)), to: &state)
        var desired = DeviceConfiguration(peers: peers)
        desired.peers[5000].endpoint = Endpoint("192.0.2.9:51820")
        let u = Reconcile.update(from: state, to: desired)
        #expect(u.peers.count == 1 && u.peers[0].publicKey == peers[5000].publicKey && u.peers[0].endpoint == Endpoint("192.0.2.9:51820"))
        #expect(u.peers[0].allowedIPs.isEmpty && !u.peers[0].replaceAllowedIPs)
    }

    @Test func privateKeyChangesOnlyWhenDifferent() {
        let k = PrivateKey.generate()
        var state = DeviceState(name: "wg0")
        state.privateKey = k
        #expect(Reconcile.update(from: state, to: .init(interface: .init(privateKey: k))).isEmpty)
        #expect(Reconcile.update(from: state, to: .init(interface: .init(privateKey: .generate()))).privateKey != nil)
        #expect(Reconcile.update(from: DeviceState(name: "wg0"), to: .init(interface: .init(privateKey: k))).privateKey != nil)
    }
}
