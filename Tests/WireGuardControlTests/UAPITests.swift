import Testing
import TeamwireCore
@testable import WireGuardControl

struct UAPITests {
    let k1 = PrivateKey.generate(), k2 = PrivateKey.generate(), dev = PrivateKey.generate()

    @Test func parsesAFullGetReply() throws {
        let psk = PresharedKey.generate()
        let reply = """
            private_key=\(dev.hexKey)
            listen_port=51820
            fwmark=4660
            public_key=\(k1.publicKey.hexKey)
            preshared_key=\(Hex.encode(psk.rawValue))
            protocol_version=1
            endpoint=192.0.2.7:51820
            last_handshake_time_sec=1700000000
            last_handshake_time_nsec=123
            tx_bytes=1000
            rx_bytes=2000
            persistent_keepalive_interval=25
            allowed_ip=100.64.0.2/32
            allowed_ip=fd00::/64
            public_key=\(k2.publicKey.hexKey)
            preshared_key=\(String(repeating: "0", count: 64))
            endpoint=[2001:db8::1]:4500
            last_handshake_time_sec=0
            last_handshake_time_nsec=0
            tx_bytes=0
            rx_bytes=0
            persistent_keepalive_interval=0
            some_future_field=1
            errno=0


            """
        let s = try UAPI.parseGet(reply, interface: "wg0")
        #expect(s.privateKey?.constantTimeEquals(dev) == true && s.listenPort == 51820 && s.fwmark == 0x1234)
        #expect(s.peers.count == 2)
        let p1 = s.peers[0], p2 = s.peers[1]
        #expect(p1.publicKey == k1.publicKey && p1.presharedKey == psk && p1.endpoint == Endpoint("192.0.2.7:51820"))
        #expect(p1.lastHandshake == .init(seconds: 1_700_000_000, nanoseconds: 123) && p1.txBytes == 1000 && p1.rxBytes == 2000)
        #expect(p1.persistentKeepalive == 25 && p1.allowedIPs.map(\.description) == ["100.64.0.2/32", "fd00::/64"])
        #expect(p2.presharedKey.isNone && p2.endpoint == Endpoint("[2001:db8::1]:4500") && p2.lastHandshake == nil && p2.allowedIPs.isEmpty)
    }

    @Test func aFreshDeviceHasNoKeyAndNoPeers() throws {
        let s = try UAPI.parseGet("listen_port=41046\nerrno=0\n\n", interface: "wg0")
        #expect(s.privateKey == nil && s.listenPort == 41046 && s.peers.isEmpty)
    }

    @Test(arguments: [
        ("listen_port=1\n", "no errno"),
        ("listen_port=abc\nerrno=0\n\n", "bad value for listen_port"),
        ("private_key=zz\nerrno=0\n\n", "bad value for private_key"),
        ("endpoint=1.2.3.4:5\nerrno=0\n\n", "before any public_key"),
        ("garbage\nerrno=0\n\n", "line without '='"),
        ("public_key=\(String(repeating: "a", count: 63))\nerrno=0\n\n", "bad value for public_key"),
        ("public_key=\(String(repeating: "a", count: 64))\nallowed_ip=300.0.0.1/32\nerrno=0\n\n", "bad value for allowed_ip"),
        ("errno=x\n\n", "bad value for errno"),
    ])
    func malformedRepliesAreRefusedClearly(reply: String, says: String) {
        do {
            _ = try UAPI.parseGet(reply, interface: "wg0")
            Issue.record("accepted \(reply)")
        } catch let e as WireGuardError {
            guard case .malformedReply(let d) = e else { Issue.record("unexpected \(e)"); return }
            #expect(d.contains(says), "\(d)")
        } catch { Issue.record("unexpected \(error)") }
    }

    /// The agent turns every handshake time into milliseconds and nanoseconds (Int64): a time no
    /// WireGuard reports (from a buggy or hostile wireguard-go) used to parse and then overflow
    /// there. It is refused as malformed; the latest plausible one converts without overflow.
    @Test(arguments: [
        ("9223372036854775807", "0"), ("\(PeerState.Timestamp.maxSeconds + 1)", "0"), ("-1", "0"), ("-9223372036854775807", "0"),
        ("1700000000", "1000000000"), ("1700000000", "-1"), ("0", "9223372036854775807"), ("0", "-5"),
    ])
    func impossibleHandshakeTimesAreRefused(sec: String, nsec: String) {
        let reply = "public_key=\(k1.publicKey.hexKey)\nlast_handshake_time_sec=\(sec)\nlast_handshake_time_nsec=\(nsec)\nerrno=0\n\n"
        #expect(throws: WireGuardError.malformedReply("peer \(k1.publicKey) has an impossible last handshake time (\(sec) s, \(nsec) ns)")) {
            try UAPI.parseGet(reply, interface: "wg0")
        }
    }

    @Test func theLatestPlausibleHandshakeTimeConverts() throws {
        let max = PeerState.Timestamp.maxSeconds
        let reply = "public_key=\(k1.publicKey.hexKey)\nlast_handshake_time_sec=\(max)\nlast_handshake_time_nsec=999999999\nerrno=0\n\n"
        let t = try #require(try UAPI.parseGet(reply, interface: "wg0").peers.first?.lastHandshake)
        #expect(t.isPlausible)
        #expect(t.unixMilliseconds == max * 1000 + 999 && t.unixNanoseconds == max * 1_000_000_000 + 999_999_999)
    }

    @Test func errnoInAReplyIsARefusal() {
        #expect(throws: WireGuardError.refused(operation: "get", errno: 19)) { try UAPI.parseGet("errno=19\n\n", interface: "wg0") }
        #expect(throws: WireGuardError.refused(operation: "set", errno: 98)) { try UAPI.parseSet("errno=98\n\n") }
        #expect(throws: WireGuardError.self) { try UAPI.parseSet("") }
        #expect(throws: Never.self) { try UAPI.parseSet("errno=0\n\n") }
    }

    @Test func wireguardGosNegativeErrnoIsNamed() {
        // wireguard-go answers a port clash with errno=-98 (issue 15: it read "Unknown error -98").
        #expect(throws: WireGuardError.refused(operation: "set", errno: 98)) { try UAPI.parseSet("errno=-98\n\n") }
        #expect(throws: WireGuardError.refused(operation: "get", errno: 19)) { try UAPI.parseGet("errno=-19\n\n", interface: "wg0") }
        let text = WireGuardError.refused(operation: "set", errno: -98).description
        #expect(text.contains("Address already in use (errno 98)"), "\(text)")
        #expect(!WireGuardError.refused(operation: "set", errno: .min).description.isEmpty)
    }

    @Test func setRequestIsExact() throws {
        let u = DeviceUpdate(privateKey: dev, listenPort: 51820, fwmark: 7, replacePeers: true, peers: [
            PeerUpdate(publicKey: k1.publicKey, presharedKey: .zero, endpoint: Endpoint("[2001:db8::1]:51820"), persistentKeepalive: 25,
                       replaceAllowedIPs: true, allowedIPs: [IPAddressRange("100.64.0.2")!, IPAddressRange("10.1.2.3/8")!]),
            PeerUpdate(publicKey: k2.publicKey, updateOnly: true, persistentKeepalive: 0),
            .removing(dev.publicKey),
        ])
        let text = try UAPI.setRequest(u)
        #expect(text.split(separator: "\n", omittingEmptySubsequences: false) == """
            set=1
            private_key=\(dev.hexKey)
            listen_port=51820
            fwmark=7
            replace_peers=true
            public_key=\(k1.publicKey.hexKey)
            preshared_key=\(String(repeating: "0", count: 64))
            endpoint=[2001:db8::1]:51820
            persistent_keepalive_interval=25
            replace_allowed_ips=true
            allowed_ip=100.64.0.2/32
            allowed_ip=10.0.0.0/8
            public_key=\(k2.publicKey.hexKey)
            update_only=true
            persistent_keepalive_interval=0
            public_key=\(dev.publicKey.hexKey)
            remove=true


            """.split(separator: "\n", omittingEmptySubsequences: false))
    }

    @Test func hostnameEndpointsAreRefusedBeforeAnythingIsSent() {
        let u = DeviceUpdate(peers: [PeerUpdate(publicKey: k1.publicKey, endpoint: Endpoint("robot.example:51820"))])
        #expect(throws: WireGuardError.self) { try UAPI.setRequest(u) }
    }

    @Test func addressRangesAreCanonical() {
        #expect(IPAddressRange("10.1.2.3/8")?.description == "10.0.0.0/8")
        #expect(IPAddressRange("fd00::1:2/112")?.description == "fd00::1:0/112")
        #expect(IPAddressRange("0.0.0.0/0")?.description == "0.0.0.0/0")
        #expect(IPAddressRange("::/0")?.description == "::/0")
        for bad in ["", "10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/08x", "host/24", "10.0.0.0/24/1"] {
            #expect(IPAddressRange(bad) == nil, "\(bad)")
        }
    }
}
