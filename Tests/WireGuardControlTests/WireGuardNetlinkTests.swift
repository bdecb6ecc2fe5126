import Glibc
import Testing
import TeamwireCore
import WireGuardControl
import TestSupport

/// The kernel WireGuard messages as bytes: SET_DEVICE encoding (split like wireguard-tools)
/// read back by an independent decoder, and GET_DEVICE dumps built the way the kernel builds
/// them decoded and merged.
struct WireGuardNetlinkTests {
    func ep(_ s: String) -> Endpoint { Endpoint(s)! }
    func ip(_ s: String) -> IPAddressRange { IPAddressRange(s)! }

    func expectSame(_ a: DeviceUpdate, _ b: DeviceUpdate, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.privateKey?.rawValue == b.privateKey?.rawValue, sourceLocation: sourceLocation)
        #expect(a.listenPort == b.listenPort && a.fwmark == b.fwmark && a.replacePeers == b.replacePeers, sourceLocation: sourceLocation)
        #expect(a.peers.count == b.peers.count, sourceLocation: sourceLocation)
        #expect(a.peers == b.peers, sourceLocation: sourceLocation)
    }

    func expectSame(_ a: DeviceState, _ b: DeviceState, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.name == b.name, sourceLocation: sourceLocation)
        #expect(a.privateKey?.rawValue == b.privateKey?.rawValue, sourceLocation: sourceLocation)
        #expect(a.listenPort == b.listenPort && a.fwmark == b.fwmark, sourceLocation: sourceLocation)
        #expect(a.peers.count == b.peers.count, sourceLocation: sourceLocation)
        #expect(a.peers == b.peers, sourceLocation: sourceLocation)
    }

    // MARK: SET_DEVICE

    @Test func smallUpdateIsOneMessageAndDecodesBack() throws {
        var rng = SeededRNG(seed: 1)
        let update = DeviceUpdate(
            privateKey: PrivateKey.generate(), listenPort: 51820, fwmark: 0x1234, replacePeers: true,
            peers: [
                PeerUpdate(publicKey: rng.key(), presharedKey: .generate(), endpoint: ep("192.0.2.1:51820"), persistentKeepalive: 25,
                           replaceAllowedIPs: true, allowedIPs: [ip("100.64.0.2/32"), ip("10.0.0.0/24")]),
                PeerUpdate(publicKey: rng.key(), endpoint: ep("[2001:db8::1]:51821"), replaceAllowedIPs: true, allowedIPs: [ip("fd00::/64")]),
                PeerUpdate(publicKey: rng.key(), updateOnly: true, presharedKey: .zero, persistentKeepalive: 0, replaceAllowedIPs: true),
                .removing(rng.key()),
            ])
        let messages = try WireGuardNetlink.setMessages(update, interface: "wg0", family: WG.family)
        #expect(messages.count == 1)
        let (decoded, continuations) = try decodeSetMessages(messages, interface: "wg0", maxSize: WireGuardNetlink.defaultMessageSize)
        #expect(continuations == 0)
        expectSame(decoded, update)
    }

    @Test func absentSettingsAreNotSent() throws {
        var rng = SeededRNG(seed: 2)
        let key = rng.key()
        let messages = try WireGuardNetlink.setMessages(DeviceUpdate(peers: [PeerUpdate(publicKey: key, allowedIPs: [ip("100.64.0.9/32")])]),
                                                        interface: "wg0", family: WG.family)
        let attrs = try Attr.parse(messages[0][20...])
        #expect(attrs.map(\.type) == [WG.D.ifname, WG.D.peers])
        let peer = try attrs[1].children()[0].children()
        // No flags attribute at all (a 0 would be harmless, but wireguard-tools sends none), no psk/endpoint/keepalive.
        #expect(peer.map(\.type) == [WG.P.publicKey, WG.P.allowedIPs])
    }

    @Test func fiveThousandPeersSplitUnderTheLimitAndDecodeBack() throws {
        var rng = SeededRNG(seed: 3)
        var peers: [PeerUpdate] = []
        for i in 0..<5000 {
            var ips = [IPAddressRange.host(IPv4Address(0x6440_0000 + UInt32(i + 2)))]
            if i % 3 == 0 { ips.append(rng.v6(128)) }
            if i % 7 == 0 { ips.append(rng.v4(24)) }
            let endpoint: Endpoint? = i % 2 == 0 ? Endpoint(host: .ipv4(IPv4Address(0xC000_0200 + UInt32(i % 250))), port: UInt16(1000 + i))
                : i % 5 == 1 ? Endpoint(host: .ipv6(IPv6Address(bytes: rng.bytes(16))!), port: 51820) : nil
            peers.append(PeerUpdate(publicKey: rng.key(), presharedKey: i % 4 == 0 ? .generate() : nil, endpoint: endpoint,
                                    persistentKeepalive: i % 6 == 0 ? 25 : nil, replaceAllowedIPs: true, allowedIPs: ips))
        }
        let update = DeviceUpdate(privateKey: .generate(), listenPort: 51820, fwmark: 7, replacePeers: true, peers: peers)
        for limit in [WireGuardNetlink.defaultMessageSize, 4096, 512] {
            let messages = try WireGuardNetlink.setMessages(update, interface: "teamwire0", family: WG.family, maxMessageSize: limit)
            #expect(messages.count > 1)
            #expect(messages.allSatisfy { $0.count <= limit })
            // Full messages: each one is at least half used (nothing is split needlessly).
            #expect(messages.dropLast().allSatisfy { $0.count > limit / 2 })
            let (decoded, _) = try decodeSetMessages(messages, interface: "teamwire0", maxSize: limit)
            expectSame(decoded, update)
        }
    }

    @Test func aPeerWithManyAllowedIPsContinuesInTheNextMessages() throws {
        var rng = SeededRNG(seed: 4)
        let many = (0..<3000).map { i in i % 2 == 0 ? IPAddressRange.host(IPv4Address(0x0A00_0000 + UInt32(i))) : rng.v6(64) }
        let update = DeviceUpdate(replacePeers: false, peers: [
            PeerUpdate(publicKey: rng.key(), allowedIPs: [ip("100.64.0.2/32")]),
            PeerUpdate(publicKey: rng.key(), presharedKey: .generate(), endpoint: ep("[2001:db8::7]:4500"), persistentKeepalive: 15,
                       replaceAllowedIPs: true, allowedIPs: many),
            PeerUpdate(publicKey: rng.key(), updateOnly: true, replaceAllowedIPs: true, allowedIPs: Array(many.prefix(500))),
            PeerUpdate(publicKey: rng.key(), allowedIPs: [ip("100.64.0.3/32")]),
        ])
        let messages = try WireGuardNetlink.setMessages(update, interface: "wg0", family: WG.family, maxMessageSize: 4096)
        #expect(messages.count > 20)
        let (decoded, continuations) = try decodeSetMessages(messages, interface: "wg0", maxSize: 4096)
        #expect(continuations >= 20)
        expectSame(decoded, update)

        // The first part of the big peer carries its settings and REPLACE_ALLOWEDIPS; the
        // second message starts with its continuation: key, UPDATE_ONLY, more allowed IPs.
        let second = try Attr.parse(messages[1][20...])
        #expect(second.map(\.type) == [WG.D.ifname, WG.D.peers])
        let cont = try second[1].children()[0].children()
        #expect(cont.map(\.type) == [WG.P.publicKey, WG.P.flags, WG.P.allowedIPs])
        #expect(Array(cont[0].payload) == update.peers[1].publicKey.rawValue)
        #expect(cont[1].u32 == WG.updateOnly)
        let first = try Attr.parse(messages[0][20...])
        let bigFirst = try first.last!.children()[1].children()
        #expect(bigFirst.first { $0.type == WG.P.flags }?.u32 == WG.replaceAllowedIPs)
    }

    @Test func replacePeersWithNoPeersStillSendsTheFlag() throws {
        let messages = try WireGuardNetlink.setMessages(DeviceUpdate(replacePeers: true), interface: "wg0", family: WG.family)
        let attrs = try Attr.parse(messages[0][20...])
        #expect(attrs.map(\.type) == [WG.D.ifname, WG.D.flags])
        #expect(attrs[1].u32 == WG.replacePeers)
    }

    @Test func endpointsAreSockaddrs() throws {
        var rng = SeededRNG(seed: 5)
        let update = DeviceUpdate(peers: [PeerUpdate(publicKey: rng.key(), endpoint: ep("192.0.2.1:51820")),
                                          PeerUpdate(publicKey: rng.key(), endpoint: ep("[2001:db8::1]:443"))])
        let m = try WireGuardNetlink.setMessages(update, interface: "wg0", family: WG.family)[0]
        let peers = try Attr.parse(m[20...])[1].children()
        let v4 = try peers[0].children().first { $0.type == WG.P.endpoint }!
        // sockaddr_in: family 2 (host order), port 51820 = 0xCA6C big-endian, address, 8 zero bytes.
        #expect(Array(v4.payload) == [2, 0, 0xCA, 0x6C, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0])
        let v6 = try peers[1].children().first { $0.type == WG.P.endpoint }!
        // sockaddr_in6: family 10, port 443, flow info 0, address, scope id 0.
        #expect(Array(v6.payload) == [10, 0, 0x01, 0xBB, 0, 0, 0, 0] + IPv6Address("2001:db8::1")!.bytes + [0, 0, 0, 0])
    }

    @Test func attributesArePaddedAndAligned() throws {
        var rng = SeededRNG(seed: 6)
        for name in ["w", "wg0", "wg12", "teamwire-abcdef"] {
            let update = DeviceUpdate(listenPort: 1, peers: [PeerUpdate(publicKey: rng.key(), allowedIPs: [ip("10.1.2.0/23"), ip("fd00::1/128")])])
            let m = try WireGuardNetlink.setMessages(update, interface: name, family: WG.family)[0]
            #expect(m.count % 4 == 0)
            // Attr.parse refuses misalignment, non-zero padding and trailing bytes, at every level.
            let attrs = try Attr.parse(m[20...])
            #expect(attrs[0].payload.count == name.utf8.count + 1)  // length excludes the padding
            #expect(attrs[1].payload.count == 2)  // u16 listen port, padded to 4
            let allowed = try attrs[2].children()[0].children()[1].children()
            for a in allowed {
                let fields = try a.children()
                #expect(fields.map(\.type) == [WG.A.family, WG.A.address, WG.A.cidr])
                #expect(fields[2].payload.count == 1)  // u8 mask, padded to 4
            }
            #expect(try allowed[0].children()[2].payload.first == 23)
            #expect(try allowed[1].children()[1].payload.count == 16)
        }
    }

    @Test func refusesWhatTheKernelCouldNotTake() throws {
        var rng = SeededRNG(seed: 7)
        let key = rng.key()
        #expect(throws: WireGuardError.self) {
            try WireGuardNetlink.setMessages(DeviceUpdate(peers: [PeerUpdate(publicKey: key, endpoint: self.ep("vpn.example:51820"))]),
                                             interface: "wg0", family: WG.family)
        }
        for bad in ["", "sixteen-chars-xx", "a/b", "a b", "..", "x:1"] {
            #expect(throws: WireGuardError.self) { try WireGuardNetlink.setMessages(DeviceUpdate(listenPort: 1), interface: bad, family: WG.family) }
            #expect(throws: WireGuardError.self) { try WireGuardNetlink.getRequest(interface: bad, family: WG.family) }
        }
        #expect(throws: WireGuardError.self) {
            try WireGuardNetlink.setMessages(DeviceUpdate(listenPort: 1), interface: "wg0", family: WG.family, maxMessageSize: 100)
        }
    }

    @Test func getRequestNamesTheDevice() throws {
        let m = try WireGuardNetlink.getRequest(interface: "wg0", family: 0x1c)
        #expect(Int(readLE(m[0..<4], as: UInt32.self)) == m.count)
        #expect(readLE(m[4..<6], as: UInt16.self) == 0x1c)
        #expect(Array(m[16..<20]) == [WG.cmdGet, 1, 0, 0])
        let attrs = try Attr.parse(m[20...])
        #expect(attrs.count == 1 && attrs[0].type == WG.D.ifname && Array(attrs[0].payload) == Array("wg0".utf8) + [0])
    }

    // MARK: GET_DEVICE

    func sampleDevice(peers count: Int, seed: UInt64, bigPeerIPs: Int = 0) -> DeviceState {
        var rng = SeededRNG(seed: seed)
        var d = DeviceState(name: "wg0")
        d.privateKey = .generate()
        d.listenPort = 51820
        d.fwmark = 0xCAFE
        for i in 0..<count {
            var p = PeerState(publicKey: rng.key())
            if i % 2 == 0 { p.presharedKey = .generate() }
            switch i % 3 {
            case 0: p.endpoint = Endpoint(host: .ipv4(IPv4Address(UInt32.random(in: 1...UInt32.max, using: &rng))), port: UInt16(1 + i))
            case 1: p.endpoint = Endpoint(host: .ipv6(IPv6Address(bytes: rng.bytes(16))!), port: 51820)
            default: p.endpoint = nil
            }
            p.allowedIPs = [.host(IPv4Address(0x6440_0000 + UInt32(i + 2)))] + (0..<(i % 4)).map { _ in rng.v6(Int.random(in: 0...128, using: &rng)) }
            if i == count / 2 { p.allowedIPs += (0..<bigPeerIPs).map { _ in rng.v4(Int.random(in: 8...32, using: &rng)) } }
            p.persistentKeepalive = i % 5 == 0 ? 25 : 0
            p.lastHandshake = i % 4 == 1 ? .init(seconds: 1_700_000_000 + Int64(i), nanoseconds: 999_999_999) : nil
            p.rxBytes = UInt64(i) << 33 | 5
            p.txBytes = UInt64.max - UInt64(i)
            d.peers.append(p)
        }
        return d
    }

    @Test func decodesADumpSpreadOverManyMessages() throws {
        let device = sampleDevice(peers: 300, seed: 10, bigPeerIPs: 400)
        let messages = kernelDump(device, budget: 1500)
        #expect(messages.count > 40)
        expectSame(try WireGuardNetlink.decodeDevice(messages, interface: "wg0"), device)
        // Several messages in one datagram, as recvmsg hands them over.
        let datagrams = stride(from: 0, to: messages.count, by: 5).map { messages[$0..<min($0 + 5, messages.count)].flatMap { $0 } }
        expectSame(try WireGuardNetlink.decodeDevice(datagrams, interface: "wg0"), device)
    }

    @Test func mergesAPeerWhoseAllowedIPsSpanMessages() throws {
        var d = sampleDevice(peers: 3, seed: 11)
        var rng = SeededRNG(seed: 12)
        d.peers[1].allowedIPs = (0..<1000).map { i in i % 3 == 0 ? rng.v6(48) : .host(IPv4Address(0x0A00_0000 + UInt32(i))) }
        let messages = kernelDump(d, budget: 4096)
        // The peer's key appears at the start of several messages, each time with more allowed IPs.
        var keyed = 0
        for m in messages {
            for a in try Attr.parse(m[20...]) where a.type == WG.D.peers {
                keyed += try a.children().filter { try $0.children().contains { $0.type == WG.P.publicKey && Array($0.payload) == d.peers[1].publicKey.rawValue } }.count
            }
        }
        #expect(keyed == messages.count)
        let decoded = try WireGuardNetlink.decodeDevice(messages, interface: "wg0")
        #expect(decoded.peers.map(\.publicKey) == d.peers.map(\.publicKey))
        #expect(decoded.peers[1].allowedIPs == d.peers[1].allowedIPs)
        expectSame(decoded, d)
    }

    @Test func decodesNestsWithoutNLAFNested() throws {
        // Kernels before 5.2 did not flag nests; the flag must be masked off, not required.
        let d = sampleDevice(peers: 20, seed: 13)
        expectSame(try WireGuardNetlink.decodeDevice(kernelDump(d, budget: 1000, nestedFlag: false), interface: "wg0"), d)
    }

    @Test func decodesEveryPeerField() throws {
        var rng = SeededRNG(seed: 14)
        let key = rng.key(), psk = PresharedKey.generate()
        let peer: [TLV] = [
            .raw(WG.P.publicKey, key.rawValue), .raw(WG.P.psk, psk.rawValue),
            .raw(WG.P.handshake, le(Int64(1_700_000_123)) + le(Int64(456))),
            .u16(WG.P.keepalive, 42), .u64(WG.P.tx, 0x1_0000_0001), .u64(WG.P.rx, 77), .u32(WG.P.protocolVersion, 1),
            .raw(WG.P.endpoint, sockaddrBytes(Endpoint("[fe80::1:2]:51820")!)),
            .raw(99, [1, 2, 3]),  // an attribute from a newer kernel: ignored
            .nest(WG.P.allowedIPs, [allowedIPNode(IPAddressRange("0.0.0.0/0")!), allowedIPNode(IPAddressRange("::/0")!)]),
        ]
        let m = genlMessage(command: WG.cmdGet, [.u32(WG.D.ifindex, 3), .strz(WG.D.ifname, "wg9"),
                                                 .raw(WG.D.privateKey, [UInt8](repeating: 0, count: 32)),  // no key set
                                                 .u16(WG.D.listenPort, 0), .u32(WG.D.fwmark, 0),
                                                 .nest(WG.D.peers, [.nest(0, peer), .nest(0, [.raw(WG.P.publicKey, rng.key().rawValue)])])])
        let d = try WireGuardNetlink.decodeDevice([m], interface: "wg9")
        #expect(d.name == "wg9" && d.privateKey == nil && d.listenPort == 0 && d.fwmark == 0)
        #expect(d.peers.count == 2)
        let p = d.peers[0]
        #expect(p.publicKey == key && p.presharedKey == psk && p.persistentKeepalive == 42)
        #expect(p.lastHandshake == .init(seconds: 1_700_000_123, nanoseconds: 456))
        #expect(p.txBytes == 0x1_0000_0001 && p.rxBytes == 77 && p.protocolVersion == 1)
        #expect(p.endpoint == Endpoint("[fe80::1:2]:51820"))
        #expect(p.allowedIPs == [IPAddressRange("0.0.0.0/0")!, IPAddressRange("::/0")!])
        // A bare peer: no endpoint, no handshake, no preshared key.
        #expect(d.peers[1].endpoint == nil && d.peers[1].lastHandshake == nil && d.peers[1].presharedKey.isNone && d.peers[1].allowedIPs.isEmpty)
    }

    /// The kernel's handshake time is two s64: one no kernel reports is refused, as in the UAPI
    /// (the agent's millisecond and nanosecond arithmetic on it would overflow).
    @Test func refusesImpossibleHandshakeTimes() throws {
        var rng = SeededRNG(seed: 16)
        let key = rng.key()
        for (s, ns) in [(Int64.max, Int64(0)), (PeerState.Timestamp.maxSeconds + 1, 0), (-1, 0), (Int64.min, 0), (1_700_000_000, 1_000_000_000), (0, -1), (0, Int64.min)] {
            let m = genlMessage(command: WG.cmdGet, [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, key.rawValue), .raw(WG.P.handshake, le(s) + le(ns))])])])
            #expect(throws: WireGuardError.malformedReply("peer \(key) has an impossible last handshake time (\(s) s, \(ns) ns)")) {
                try WireGuardNetlink.decodeDevice([m], interface: "wg0")
            }
        }
        let max = PeerState.Timestamp.maxSeconds
        let m = genlMessage(command: WG.cmdGet, [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, key.rawValue), .raw(WG.P.handshake, le(max) + le(Int64(999_999_999)))])])])
        #expect(try WireGuardNetlink.decodeDevice([m], interface: "wg0").peers.first?.lastHandshake?.unixMilliseconds == max * 1000 + 999)
    }

    @Test func refusesMalformedReplies() throws {
        var rng = SeededRNG(seed: 15)
        let good = genlMessage(command: WG.cmdGet, [.strz(WG.D.ifname, "wg0"), .nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, rng.key().rawValue)])])])
        _ = try WireGuardNetlink.decodeDevice([good], interface: "wg0")
        // An attribute length running past the message.
        var overrun = good
        overrun[20] = 0xFF
        #expect(throws: WireGuardError.self) { try WireGuardNetlink.decodeDevice([overrun], interface: "wg0") }
        // A message length running past the datagram.
        var long = good
        long[0] = UInt8(good.count + 8)
        #expect(throws: WireGuardError.self) { try WireGuardNetlink.decodeDevice([long], interface: "wg0") }
        let cases: [[TLV]] = [
            [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.psk, [UInt8](repeating: 1, count: 32))])])],  // peer without a key
            [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, [1, 2, 3])])])],  // short key
            [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, rng.key().rawValue),
                                          .nest(WG.P.allowedIPs, [.nest(0, [.u16(WG.A.family, UInt16(AF_INET)), .raw(WG.A.address, [10, 0, 0, 0])])])])])],  // no mask
            [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, rng.key().rawValue),
                                          .nest(WG.P.allowedIPs, [.nest(0, [.u16(WG.A.family, UInt16(AF_INET)), .raw(WG.A.address, [10, 0, 0, 0]), .u8(WG.A.cidr, 33)])])])])],
            [.nest(WG.D.peers, [.nest(0, [.raw(WG.P.publicKey, rng.key().rawValue), .raw(WG.P.endpoint, [2, 0, 1])])])],  // short sockaddr
            [.u16(WG.D.fwmark, 1)],  // u32 attribute with 2 bytes
        ]
        for attrs in cases {
            #expect(throws: WireGuardError.self) { try WireGuardNetlink.decodeDevice([genlMessage(command: WG.cmdGet, attrs)], interface: "wg0") }
        }
    }
}
