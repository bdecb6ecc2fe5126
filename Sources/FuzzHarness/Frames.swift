import TeamwireCore

extension FuzzHarness {
    /// The binary frames read before any box is opened: the sealed envelope as an HTTP body (both
    /// kinds; opening fails at the MAC for bytes the fuzzer makes, which is the point: it must
    /// fail cleanly), and the hub's path-signal datagram.
    static func frames(_ bytes: [UInt8]) {
        do throws(APIError) {
            let r = try Envelope.decodeRequest(bytes)
            require(Envelope.encode(r) == bytes, "a decoded request envelope does not re-encode to its bytes")
            require(r.nonce.count == SharedKey.nonceLength && r.box.count >= SharedKey.macLength, "a decoded request envelope is short")
        } catch {
            require(bytes.count > Envelope.maxSize ? error.code == .bodyTooLarge : error.code != .bodyTooLarge, "size refusal wrong for \(bytes.count) bytes")
        }
        do {
            let r = try Envelope.decodeReply(bytes)
            require(Envelope.encode(r) == bytes, "a decoded reply envelope does not re-encode to its bytes")
            require(r.nonce.count == SharedKey.nonceLength && r.box.count >= SharedKey.macLength, "a decoded reply envelope is short")
        } catch {}
        for op in Operation.allCases {
            let opened = try? ControlCodec.openRequest(bytes, expecting: op) { _ in Keys.coordinatorShared }
            require(opened == nil, "the fuzzer forged a box for the coordinator's key")
        }
        let reply = try? ControlCodec.openReply(bytes, as: Empty.self, sharedKey: Keys.nodeShared, requestNonce: Keys.requestNonce)
        require(reply == nil, "the fuzzer forged a reply box for the node's key")

        if let (kind, member) = PathSignalMessage.parse(bytes) {
            require(PathSignalMessage.encode(kind, member) == bytes, "a parsed path signal does not re-encode to its bytes")
        }
        if let (kind, nonce) = CanaryMessage.parse(bytes) {
            require(CanaryMessage.encode(kind, nonce: nonce) == bytes, "a parsed canary does not re-encode to its bytes")
        }
        if CanaryMessage.answer(to: bytes) != nil { require(CanaryMessage.parse(bytes)?.kind == .request, "the canary responder answered a non-request") }
    }
}
