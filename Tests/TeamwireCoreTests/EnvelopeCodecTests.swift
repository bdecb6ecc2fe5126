import Foundation
import Testing
@testable import TeamwireCore

/// A node and a coordinator with their key pairs and the shared keys each side derives.
struct Parties {
    let node = PrivateKey.generate()
    let coordinator = PrivateKey.generate()
    var nodeShared: SharedKey { SharedKey(privateKey: node, publicKey: coordinator.publicKey) }
    func coordinatorShared(_ sender: PublicKey) -> SharedKey { SharedKey(privateKey: coordinator, publicKey: sender) }

    func sealRequest<B: Codable & Sendable>(_ op: TeamwireCore.Operation, _ body: B, ts: Int64 = 1_700_000_000_000) -> ControlCodec.SealedOutgoing {
        ControlCodec.sealRequest(op, body, senderKey: node.publicKey, sharedKey: nodeShared, nowMillis: ts)
    }

    func openRequest(_ bytes: [UInt8], expecting op: TeamwireCore.Operation) -> Result<ControlCodec.OpenedRequest, APIError> {
        outcome { () throws(APIError) in try ControlCodec.openRequest(bytes, expecting: op, sharedKey: coordinatorShared) }
    }

    func openReply<B: Codable & Sendable>(_ bytes: [UInt8], as: B.Type, requestNonce: [UInt8]) -> Result<Result<B, APIError>, APIError> {
        outcome { () throws(APIError) in try ControlCodec.openReply(bytes, as: B.self, sharedKey: nodeShared, requestNonce: requestNonce) }
    }
}

@Suite("Shared keys")
struct SharedKeyTests {
    @Test("both sides derive the same key: what one seals the other opens")
    func symmetric() throws {
        let a = PrivateKey.generate(), b = PrivateKey.generate()
        let ab = SharedKey(privateKey: a, publicKey: b.publicKey)
        let ba = SharedKey(privateKey: b, publicKey: a.publicKey)
        for n in [0, 1, 15, 16, 17, 1000] {
            let plain = Sodium.randomBytes(n)
            let (nonce, box) = ab.seal(plain)
            #expect(nonce.count == SharedKey.nonceLength)
            #expect(box.count == n + SharedKey.macLength)
            #expect(ba.open(nonce: nonce, box: box) == plain)
            #expect(ab.open(nonce: nonce, box: box) == plain)
        }
    }

    @Test("the RFC 7748 key pairs agree with each other")
    func rfcPairs() throws {
        let alice = try PrivateKey(hexKey: KeysTests.alicePrivateHex)
        let bob = try PrivateKey(hexKey: KeysTests.bobPrivateHex)
        let (nonce, box) = SharedKey(privateKey: alice, publicKey: bob.publicKey).seal(Array("hello".utf8))
        #expect(SharedKey(privateKey: bob, publicKey: alice.publicKey).open(nonce: nonce, box: box) == Array("hello".utf8))
    }

    @Test("nonces are fresh and the box hides the plaintext")
    func freshNonces() {
        let k = SharedKey(privateKey: PrivateKey.generate(), publicKey: PrivateKey.generate().publicKey)
        let plain = [UInt8](repeating: 0x41, count: 64)
        let s1 = k.seal(plain), s2 = k.seal(plain)
        #expect(s1.nonce != s2.nonce)
        #expect(s1.box != s2.box)
        #expect(!s1.box.indices.dropLast(plain.count - 1).contains { Array(s1.box[$0..<($0 + plain.count)]) == plain })
    }

    @Test("a third key, any altered byte, a wrong nonce or a malformed box is refused")
    func refusals() {
        let a = PrivateKey.generate(), b = PrivateKey.generate(), c = PrivateKey.generate()
        let ab = SharedKey(privateKey: a, publicKey: b.publicKey)
        let plain = Array("the map".utf8)
        let (nonce, box) = ab.seal(plain)
        #expect(SharedKey(privateKey: c, publicKey: a.publicKey).open(nonce: nonce, box: box) == nil)
        #expect(SharedKey(privateKey: c, publicKey: b.publicKey).open(nonce: nonce, box: box) == nil)
        #expect(SharedKey(privateKey: a, publicKey: c.publicKey).open(nonce: nonce, box: box) == nil)
        for i in box.indices {
            var t = box
            t[i] ^= 0x01
            #expect(ab.open(nonce: nonce, box: t) == nil, "box byte \(i)")
        }
        for i in nonce.indices {
            var n = nonce
            n[i] ^= 0x80
            #expect(ab.open(nonce: n, box: box) == nil, "nonce byte \(i)")
        }
        #expect(ab.open(nonce: Array(nonce.dropLast()), box: box) == nil)
        #expect(ab.open(nonce: nonce + [0], box: box) == nil)
        #expect(ab.open(nonce: nonce, box: Array(box.prefix(15))) == nil)
        #expect(ab.open(nonce: nonce, box: []) == nil)
        #expect(ab.open(nonce: nonce, box: Array(box.dropLast())) == nil)
        #expect(ab.open(nonce: nonce, box: box + [0]) == nil)
        #expect(ab.open(nonce: nonce, box: box) == plain)
    }
}

@Suite("Envelope framing")
struct EnvelopeTests {
    static let key = fixedKey(9)

    @Test("request and reply frames have the documented layout and round-trip")
    func layout() throws {
        let nonce = (0..<24).map { UInt8($0) }
        let box = [UInt8](repeating: 0xee, count: 20)
        let req = Envelope.Request(senderKey: Self.key, nonce: nonce, box: box)
        let bytes = Envelope.encode(req)
        #expect(bytes == [0x54, 0x57, 1, 1] + Self.key.rawValue + nonce + box)
        #expect(try Envelope.decodeRequest(bytes) == req)

        let rep = Envelope.Reply(nonce: nonce, box: box)
        let rbytes = Envelope.encode(rep)
        #expect(rbytes == [0x54, 0x57, 1, 2] + nonce + box)
        #expect(try Envelope.decodeReply(rbytes) == rep)
        #expect(Envelope.contentType == "application/x-teamwire-sealed")
    }

    static func code(_ body: () throws(APIError) -> Void) -> ErrorCode? { refusal(body)?.code }

    @Test("bad magic, version, kind and truncation are refused with their codes")
    func headerRefusals() {
        let req = Envelope.encode(Envelope.Request(senderKey: Self.key, nonce: [UInt8](repeating: 1, count: 24), box: [UInt8](repeating: 2, count: 16)))
        let rep = Envelope.encode(Envelope.Reply(nonce: [UInt8](repeating: 1, count: 24), box: [UInt8](repeating: 2, count: 16)))
        #expect(req.count == 76 && rep.count == 44, "minimum sizes")
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(req) } == nil)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(rep) } == nil)

        func with(_ b: [UInt8], _ i: Int, _ v: UInt8) -> [UInt8] { var c = b; c[i] = v; return c }
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 0, 0x55)) } == .badEnvelope)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 1, 0x00)) } == .badEnvelope)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 2, 2)) } == .unsupportedVersion)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 2, 0)) } == .unsupportedVersion)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 3, 2)) } == .badEnvelope)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(with(rep, 3, 1)) } == .badEnvelope)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(rep) } == .badEnvelope, "a reply is not a request")
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(req) } == .badEnvelope, "a request is not a reply (reflection)")
        for n in 0..<76 {
            #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(Array(req.prefix(n))) } == .badEnvelope, "request truncated to \(n)")
        }
        for n in 0..<44 {
            #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(Array(rep.prefix(n))) } == .badEnvelope, "reply truncated to \(n)")
        }
        let msg = refusal { () throws(APIError) in _ = try Envelope.decodeRequest(with(req, 2, 9)) }?.message
        #expect(msg?.contains("version 9") == true)
    }

    @Test("size limits: requests up to 64 KiB, replies up to 64 MiB")
    func sizeLimits() {
        let header: [UInt8] = [0x54, 0x57, 1, 1]
        let atLimit = header + [UInt8](repeating: 0, count: Envelope.maxSize - 4)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(atLimit) } == nil)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest(atLimit + [0]) } == .bodyTooLarge)
        // Oversize is refused before anything else is looked at.
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeRequest([UInt8](repeating: 0, count: Envelope.maxSize + 1)) } == .bodyTooLarge)

        let replyHeader: [UInt8] = [0x54, 0x57, 1, 2]
        var big = replyHeader + [UInt8](repeating: 0, count: Envelope.maxSize * 4)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(big) } == nil, "replies may exceed the request limit")
        big = replyHeader + [UInt8](repeating: 0, count: Envelope.maxReplySize - 3)
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(big) } == .bodyTooLarge)
        big.removeLast()
        #expect(Self.code { () throws(APIError) in _ = try Envelope.decodeReply(big) } == nil)
    }
}

@Suite("Control codec")
struct ControlCodecTests {
    @Test("a sealed request opens on the coordinator with sender, op, timestamp and body")
    func requestRoundTrip() throws {
        let p = Parties()
        let body = MapRequest(since: 42, waitSeconds: 30)
        for op in TeamwireCore.Operation.allCases {
            let sealed = p.sealRequest(op, body, ts: 1_700_000_123_456)
            #expect(sealed.nonce.count == SharedKey.nonceLength)
            #expect(Array(sealed.bytes[4..<36]) == p.node.publicKey.rawValue, "sender key in the clear")
            #expect(Array(sealed.bytes[36..<60]) == sealed.nonce)
            let opened = try #require(p.openRequest(sealed.bytes, expecting: op).successValue)
            #expect(opened.sender == p.node.publicKey)
            #expect(opened.nonce == sealed.nonce)
            #expect(opened.op == op)
            #expect(opened.timestampMillis == 1_700_000_123_456)
            #expect(try opened.body(MapRequest.self) == body)
            #expect(opened.decodedBody(MapRequest.self).successValue == body)
            // The plaintext never appears in the sealed bytes.
            #expect(!String(decoding: sealed.bytes, as: UTF8.self).contains("waitSeconds"))
        }
    }

    @Test("the request's op must match the endpoint it was sent to")
    func opMismatch() throws {
        let p = Parties()
        let sealed = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        for op in TeamwireCore.Operation.allCases where op != .map {
            let e = try #require(p.openRequest(sealed.bytes, expecting: op).failureValue)
            #expect(e.code == .badRequest)
            #expect(e.message.contains("'map'") && e.message.contains(op.path))
        }
        #expect(p.openRequest(sealed.bytes, expecting: .map).successValue != nil)
    }

    @Test("operation paths")
    func paths() {
        #expect(TeamwireCore.Operation.allCases.map(\.path) == ["/v1/enroll", "/v1/map", "/v1/report", "/v1/leave"])
    }

    @Test("any altered byte of a sealed request is refused")
    func tamperedRequest() throws {
        let p = Parties()
        let sealed = p.sealRequest(.report, ReportRequest(endpoints: [endpoint("1.2.3.4:5")], listenPort: 51820))
        for i in sealed.bytes.indices {
            var t = sealed.bytes
            t[i] ^= 0x04
            let e = try #require(p.openRequest(t, expecting: .report).failureValue, "byte \(i) altered but accepted")
            switch i {
            case 0, 1, 3: #expect(e.code == .badEnvelope)
            case 2: #expect(e.code == .unsupportedVersion)
            default: #expect(e.code == .cannotOpen, "byte \(i)")
            }
        }
    }

    @Test("a request sealed to another coordinator, or claiming another sender, is refused")
    func wrongKeys() throws {
        let p = Parties()
        let other = PrivateKey.generate()
        // Sealed to a different coordinator key.
        let misdirected = ControlCodec.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0), senderKey: p.node.publicKey,
                                                   sharedKey: SharedKey(privateKey: p.node, publicKey: other.publicKey), nowMillis: 1)
        #expect(p.openRequest(misdirected.bytes, expecting: .map).failureValue?.code == .cannotOpen)
        // An impostor puts the node's public key in the clear but seals with its own private key.
        let forged = ControlCodec.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0), senderKey: p.node.publicKey,
                                              sharedKey: SharedKey(privateKey: other, publicKey: p.coordinator.publicKey), nowMillis: 1)
        #expect(p.openRequest(forged.bytes, expecting: .map).failureValue?.code == .cannotOpen)
        // The same impostor, honest about its key, is authenticated as itself (not as the node).
        let honest = ControlCodec.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0), senderKey: other.publicKey,
                                              sharedKey: SharedKey(privateKey: other, publicKey: p.coordinator.publicKey), nowMillis: 1)
        #expect(p.openRequest(honest.bytes, expecting: .map).successValue?.sender == other.publicKey)
    }

    /// Curve25519 public keys of small order: every private key gives the same (all-zero) shared
    /// secret with them, so anyone could seal a request "from" such a key.
    static let lowOrderPoints = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ]

    @Test("a request claiming a low-order sender key is refused, though anyone can seal one", arguments: lowOrderPoints)
    func lowOrderSender(hex: String) throws {
        let p = Parties()
        let weak = try PublicKey(hexKey: hex)
        // The forger and the coordinator derive the same key from the weak point, whatever their private keys.
        let forged = ControlCodec.sealRequest(.enroll, MapRequest(since: 0, waitSeconds: 0), senderKey: weak,
                                              sharedKey: SharedKey(privateKey: PrivateKey.generate(), publicKey: weak), nowMillis: 1)
        let e = try #require(p.openRequest(forged.bytes, expecting: .enroll).failureValue, "forged request from \(hex) accepted")
        #expect(e.code == .badEnvelope || e.code == .cannotOpen)
    }

    @Test("oversize requests are refused")
    func oversize() throws {
        let p = Parties()
        let many = ReportRequest(endpoints: (0..<4000).map { Endpoint(host: .name("host\($0).example"), port: 51820) }, listenPort: nil)
        let sealed = p.sealRequest(.report, many)
        #expect(sealed.bytes.count > Envelope.maxSize)
        #expect(p.openRequest(sealed.bytes, expecting: .report).failureValue?.code == .bodyTooLarge)
    }

    @Test("sealed plaintext that is not a request is refused")
    func notARequest() throws {
        let p = Parties()
        func raw(_ json: String) -> [UInt8] {
            let (n, box) = p.nodeShared.seal(Array(json.utf8))
            return Envelope.encode(Envelope.Request(senderKey: p.node.publicKey, nonce: n, box: box))
        }
        let cases = [
            "not json",
            "{\"type\":\"reply\",\"op\":\"map\",\"ts\":1,\"body\":{}}",
            "{\"type\":\"request\",\"op\":\"fly\",\"ts\":1,\"body\":{}}",
            "{\"type\":\"request\",\"op\":\"map\",\"body\":{}}",
            "{\"type\":\"request\",\"op\":\"map\",\"ts\":\"1\",\"body\":{}}",
            "[]",
        ]
        for json in cases {
            #expect(p.openRequest(raw(json), expecting: .map).failureValue?.code == .badRequest, "\(json)")
        }
        let ok = try #require(p.openRequest(raw("{\"type\":\"request\",\"op\":\"map\",\"ts\":7,\"body\":{\"since\":1,\"waitSeconds\":2}}"), expecting: .map).successValue)
        #expect(ok.timestampMillis == 7)
        #expect(try ok.body(MapRequest.self) == MapRequest(since: 1, waitSeconds: 2))
    }

    @Test("request bodies are decoded strictly")
    func strictBody() throws {
        struct Sneaky: Codable, Sendable { var since: UInt64; var waitSeconds: Int; var admin: Bool }
        let p = Parties()
        let sealed = p.sealRequest(.map, Sneaky(since: 1, waitSeconds: 2, admin: true))
        let opened = try #require(p.openRequest(sealed.bytes, expecting: .map).successValue)
        let e = try #require(opened.decodedBody(MapRequest.self).failureValue)
        #expect(e.code == .badRequest)
        #expect(e.message.contains("unknown field 'body.admin'"))
        #expect(refusal { () throws(APIError) in try opened.body(MapRequest.self) } == e)
        // The wrong body type for the op is a shape error.
        #expect(opened.decodedBody(ReportRequest.self).failureValue?.code == .badRequest)
    }

    @Test("a reply opens on the node that sent the request")
    func replyRoundTrip() throws {
        let p = Parties()
        let req = p.sealRequest(.report, ReportRequest(endpoints: [], listenPort: nil))
        let value = ReportReply(observedEndpoint: endpoint("198.51.100.9:40000"), revision: 17)
        let reply = ControlCodec.sealReply(.success(value), inReplyTo: req.nonce, sharedKey: p.coordinatorShared(p.node.publicKey), nowMillis: 5)
        let opened = try #require(p.openReply(reply, as: ReportReply.self, requestNonce: req.nonce).successValue)
        #expect(opened.successValue == value)
    }

    @Test("an error reply arrives as a failure value, not a refusal")
    func errorReply() throws {
        let p = Parties()
        let req = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        let err = APIError(.clockSkew, "clock is off", serverTime: 123)
        let reply = ControlCodec.sealReply(Result<MapUpdate, APIError>.failure(err), inReplyTo: req.nonce,
                                           sharedKey: p.coordinatorShared(p.node.publicKey), nowMillis: 5)
        let opened = try #require(p.openReply(reply, as: MapUpdate.self, requestNonce: req.nonce).successValue)
        #expect(opened.failureValue == err)
    }

    @Test("a pre-encoded reply body opens exactly like an encoded one")
    func encodedOK() throws {
        let p = Parties()
        let req = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        let value = ReportReply(observedEndpoint: nil, revision: 99)
        let shared = p.coordinatorShared(p.node.publicKey)
        let reply = ControlCodec.sealReply(encodedOK: ControlCodec.encodeJSON(value), inReplyTo: req.nonce, sharedKey: shared, nowMillis: 5)
        #expect(try #require(p.openReply(reply, as: ReportReply.self, requestNonce: req.nonce).successValue).successValue == value)
        // Both forms carry the same JSON.
        let (nonce, box) = (Array(reply[4..<28]), Array(reply[28...]))
        let plain = try #require(p.nodeShared.open(nonce: nonce, box: box))
        let again = ControlCodec.sealReply(.success(value), inReplyTo: req.nonce, sharedKey: shared, nowMillis: 5)
        let plain2 = try #require(p.nodeShared.open(nonce: Array(again[4..<28]), box: Array(again[28...])))
        #expect(plain == plain2)
    }

    @Test("a reply is bound to its request: another request's reply is refused")
    func replyBinding() throws {
        let p = Parties()
        let first = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        let second = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        let reply = ControlCodec.sealReply(.success(Empty()), inReplyTo: first.nonce, sharedKey: p.coordinatorShared(p.node.publicKey), nowMillis: 5)
        #expect(p.openReply(reply, as: Empty.self, requestNonce: first.nonce).successValue?.successValue == Empty())
        let e = try #require(p.openReply(reply, as: Empty.self, requestNonce: second.nonce).failureValue)
        #expect(e.code == .replayed)
    }

    @Test("replies altered, sealed with another key, or malformed inside are refused")
    func replyRefusals() throws {
        let p = Parties()
        let req = p.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0))
        let shared = p.coordinatorShared(p.node.publicKey)
        let reply = ControlCodec.sealReply(.success(ReportReply(revision: 1)), inReplyTo: req.nonce, sharedKey: shared, nowMillis: 5)
        for i in 4..<reply.count {
            var t = reply
            t[i] ^= 0x10
            #expect(p.openReply(t, as: ReportReply.self, requestNonce: req.nonce).failureValue?.code == .cannotOpen, "byte \(i)")
        }
        // Sealed by someone who is not the pinned coordinator.
        let impostor = SharedKey(privateKey: PrivateKey.generate(), publicKey: p.node.publicKey)
        let forged = ControlCodec.sealReply(.success(ReportReply(revision: 1)), inReplyTo: req.nonce, sharedKey: impostor, nowMillis: 5)
        #expect(p.openReply(forged, as: ReportReply.self, requestNonce: req.nonce).failureValue?.code == .cannotOpen)
        // The node's own request reflected back.
        #expect(p.openReply(req.bytes, as: ReportReply.self, requestNonce: req.nonce).failureValue?.code == .badEnvelope)

        func raw(_ json: String) -> [UInt8] {
            let (n, box) = shared.seal(Array(json.utf8))
            return Envelope.encode(Envelope.Reply(nonce: n, box: box))
        }
        let bound = Base64.encode(req.nonce)
        #expect(p.openReply(raw("{\"inReplyTo\":\"\(bound)\",\"ts\":1,\"type\":\"reply\"}"), as: ReportReply.self, requestNonce: req.nonce)
            .failureValue?.code == .badEnvelope, "neither ok nor error")
        #expect(p.openReply(raw("garbage"), as: ReportReply.self, requestNonce: req.nonce).failureValue?.code == .badEnvelope)
        #expect(p.openReply(raw("{\"inReplyTo\":\"\(bound)\",\"ts\":1,\"type\":\"request\",\"ok\":{\"revision\":1}}"), as: ReportReply.self,
                            requestNonce: req.nonce).failureValue?.code == .replayed, "not a reply")
        let good = p.openReply(raw("{\"inReplyTo\":\"\(bound)\",\"ts\":1,\"type\":\"reply\",\"ok\":{\"revision\":3}}"), as: ReportReply.self,
                               requestNonce: req.nonce)
        #expect(good.successValue?.successValue == ReportReply(revision: 3))
    }
}
