import Glibc
import Testing
import TeamwireCore
import WireGuardControl
import TestSupport

/// ConfigText renders a device exactly as `wg showconf` does.
struct ConfigTextTests {
    @Test func rendersLikeShowconf() throws {
        var rng = SeededRNG(seed: 20)
        let key = PrivateKey.generate(), psk = PresharedKey.generate()
        var d = DeviceState(name: "wg0")
        d.privateKey = key
        d.listenPort = 51820
        d.fwmark = 0xBEEF
        var a = PeerState(publicKey: rng.key())
        a.presharedKey = psk
        a.allowedIPs = [IPAddressRange("10.0.0.0/24")!, IPAddressRange("fd00::/64")!]
        a.endpoint = Endpoint("192.0.2.1:51820")
        a.persistentKeepalive = 25
        var b = PeerState(publicKey: rng.key())
        b.endpoint = Endpoint("[2001:db8::1]:443")
        b.rxBytes = 99  // statistics are not configuration
        let c = PeerState(publicKey: rng.key())
        d.peers = [a, b, c]
        #expect(ConfigText.showconf(d) == """
            [Interface]
            ListenPort = 51820
            FwMark = 0xbeef
            PrivateKey = \(key.base64Key)

            [Peer]
            PublicKey = \(a.publicKey.base64Key)
            PresharedKey = \(psk.base64Key)
            AllowedIPs = 10.0.0.0/24, fd00::/64
            Endpoint = 192.0.2.1:51820
            PersistentKeepalive = 25

            [Peer]
            PublicKey = \(b.publicKey.base64Key)
            Endpoint = [2001:db8::1]:443

            [Peer]
            PublicKey = \(c.publicKey.base64Key)

            """)
        #expect(ConfigText.showconf(DeviceState(name: "wg1")) == "[Interface]\n\n")
    }

    /// The same text as the real `wg showconf`, on a wireguard-go device configured through the
    /// userspace backend and read back through it. wireguard-go lists peers in Go map order,
    /// different on every read, so with several peers the sections are compared as a set; with
    /// one peer the whole text must match byte for byte.
    @Test func matchesRealWgShowconf() async throws {
        let ns = "tw-cfg-\(getpid() % 100_000)-\(UInt32.random(in: 0..<1_000_000))"
        let ifname = "twcfg\(UInt32.random(in: 0..<100_000))"
        try sh(["ip", "netns", "add", ns])
        defer { _ = try? sh(["ip", "netns", "del", ns], check: false) }
        let proc = try WireGuardGo.start(interface: ifname, prefix: ["ip", "netns", "exec", ns])
        defer { proc.stop() }
        let device = WireGuardDevice(backend: UserspaceBackend(interfaceName: ifname))
        func compare() throws -> (ours: String, theirs: String) {
            (ConfigText.showconf(try device.read()), try sh(["ip", "netns", "exec", ns, "wg", "showconf", ifname]).out)
        }
        var rng = SeededRNG(seed: 21)
        let first = rng.key()
        try device.apply(DeviceUpdate(privateKey: .generate(), listenPort: 51999, fwmark: 0x1234, replacePeers: true, peers: [
            PeerUpdate(publicKey: first, presharedKey: .generate(), endpoint: Endpoint("192.0.2.1:51820"), persistentKeepalive: 25,
                       allowedIPs: [IPAddressRange("10.0.0.0/24")!, IPAddressRange("100.64.0.2/32")!, IPAddressRange("fd00::/64")!]),
        ]))
        let one = try compare()
        #expect(one.ours == one.theirs)
        #expect(one.ours.contains("AllowedIPs = 10.0.0.0/24, 100.64.0.2/32, fd00::/64\n"))

        try device.apply(DeviceUpdate(peers: [
            PeerUpdate(publicKey: rng.key(), endpoint: Endpoint("[2001:db8::1:0:0:1]:51821"), allowedIPs: [IPAddressRange("100.64.0.3/32")!]),
            PeerUpdate(publicKey: rng.key(), endpoint: Endpoint("[::ffff:192.0.2.9]:7"), allowedIPs: [IPAddressRange("::ffff:0:0/96")!]),
            PeerUpdate(publicKey: rng.key()),
        ]))
        let many = try compare()
        func sections(_ s: String) -> [String] {
            var out: [String] = []
            for line in s.split(separator: "\n", omittingEmptySubsequences: false) {
                if line == "[Interface]" || line == "[Peer]" { out.append("") }
                out[out.count - 1] += line + "\n"
            }
            // Blank lines separate sections; the last one has none after it.
            return out.map { $0.hasSuffix("\n\n") ? String($0.dropLast()) : $0 }.sorted()
        }
        #expect(sections(many.ours).count == 5)
        #expect(sections(many.ours) == sections(many.theirs))
        #expect(many.ours.hasSuffix("\n") && !many.ours.hasSuffix("\n\n"))
    }
}
