import Testing
import TeamwireCore
import TestSupport
@testable import WireGuardControl

struct DeviceStateApplyTests {
    /// The library's notion of "what the device holds after an update" (used by the cached
    /// Reconciler) agrees with the independent model in ReconcileTests over random updates.
    @Test(arguments: 0..<200)
    func applyMatchesTheModel(seed: Int) {
        var rng = SeededRNG(seed: UInt64(seed) &+ 1000)
        var lib = DeviceState(name: "wg0"), model = DeviceState(name: "wg0")
        for _ in 0..<4 {
            var u = DeviceUpdate(replacePeers: Int.random(in: 0..<5, using: &rng) == 0)
            for key in ReconcileTests.keys where Int.random(in: 0..<3, using: &rng) == 0 {
                if Bool.random(using: &rng), Bool.random(using: &rng) {
                    u.peers.append(.removing(key))
                } else {
                    var p = PeerUpdate(adding: ReconcileTests.randomPeer(key, &rng))
                    p.updateOnly = Bool.random(using: &rng)
                    p.replaceAllowedIPs = Bool.random(using: &rng)
                    u.peers.append(p)
                }
            }
            lib.apply(u)
            modelApply(u, to: &model)
            #expect(lib.peers.map(\.configuration) == model.peers.map(\.configuration))
        }
    }
}

/// The cached Reconciler against a real wireguard-go device: after every step its memory of
/// the device equals what the device reports.
@Suite(.serialized) struct ReconcilerDeviceTests {
    /// A plan's "keep learnt" endpoint is written to a new peer only; "set" overrides what
    /// WireGuard learnt; resetEndpoints writes every endpoint again, unchanged.
    @Test func planEndpointsAgainstTheRealDevice() async throws {
        try await NetnsLab.with(hosts: 1) { lab in
            let device = lab.hosts[0].device
            var r = try Reconciler(device: device)
            let k = ReconcileTests.keys[0]
            let first = Endpoint("192.0.2.10:51820")!, learnt = Endpoint("192.0.2.11:51820")!
            func plan(_ e: EndpointIntent) -> PeerPlan {
                PeerPlan(peers: [PlannedPeer(publicKey: k, endpoint: e, allowedIPs: [IPv4Prefix("100.64.0.9/32")!], keepalive: 25)])
            }
            func held() throws -> Endpoint? { try device.read().peers.first { $0.publicKey == k }?.endpoint }
            try r.reconcile(to: plan(.keepLearnt(initial: first)))
            #expect(try held() == first)
            // WireGuard learns another endpoint from the peer's packets (here: written behind the
            // reconciler's back), and the next look reads it.
            try device.apply(DeviceUpdate(peers: [PeerUpdate(publicKey: k, updateOnly: true, endpoint: learnt)]))
            try r.refresh()
            #expect(try r.reconcile(to: plan(.keepLearnt(initial: first))).isEmpty, "the learnt endpoint stays")
            #expect(try held() == learnt)
            try r.resetEndpoints()
            #expect(try held() == learnt)
            #expect(r.peers[k]?.endpoint == learnt)
            try r.reconcile(to: plan(.set(first)))
            #expect(try held() == first)
        }
    }

    @Test func cachedStateTracksTheRealDevice() async throws {
        try await NetnsLab.with(hosts: 1) { lab in
            let device = lab.hosts[0].device
            var r = try Reconciler(device: device)
            var rng = SeededRNG(seed: 7)
            func same() throws {
                let real = try device.read().peers.map(\.configuration).sorted { $0.publicKey < $1.publicKey }
                let mine = r.state.peers.map(\.configuration).sorted { $0.publicKey < $1.publicKey }
                #expect(real.map(\.publicKey) == mine.map(\.publicKey))
                for (a, b) in zip(real, mine) {
                    #expect(Set(a.allowedIPs) == Set(b.allowedIPs) && a.endpoint == b.endpoint && a.presharedKey == b.presharedKey
                        && a.persistentKeepalive == b.persistentKeepalive)
                }
            }
            for _ in 0..<15 {
                let desired = ReconcileTests.randomConfig(&rng)
                try r.reconcile(to: .init(peers: desired.peers))
                try same()
                #expect(try r.reconcile(to: .init(peers: desired.peers)).isEmpty)
                let k = ReconcileTests.keys[Int.random(in: 0..<ReconcileTests.keys.count, using: &rng)]
                let wrote = try r.update(upserting: [ReconcileTests.randomPeer(k, &rng)], removing: [ReconcileTests.keys[0]])
                #expect(wrote.peers.count <= 2)
                try same()
            }
        }
    }
}
