import TeamwireCore

extension FuzzHarness {
    /// The request JSON inside a correctly sealed box: what a node that holds its key can make
    /// the coordinator read. The bytes are the plaintext; the harness seals them as the node and
    /// opens them the coordinator's way (`Registry.open`: openRequest, then the replay window),
    /// then decodes every body type the coordinator decodes (`PublicAPI`, `Registry.enroll`).
    static func sealedRequest(_ bytes: [UInt8]) {
        var sealed = Keys.requestTemplate
        (sealed.nonce, sealed.box) = Keys.nodeShared.seal(bytes)
        let envelope = Envelope.encode(sealed), nonce = sealed.nonce
        var opened = 0
        for op in Operation.allCases {
            let request: ControlCodec.OpenedRequest
            do throws(APIError) {
                request = try ControlCodec.openRequest(envelope, expecting: op) { key in
                    require(key == Keys.node.publicKey, "the envelope names another sender")
                    return Keys.coordinatorShared
                }
            } catch {
                require(envelope.count <= Envelope.maxSize || error.code == .bodyTooLarge, "an oversized request was not refused as such")
                continue
            }
            opened += 1
            require(request.plaintext == bytes && request.op == op && request.sender == Keys.node.publicKey && request.nonce == nonce,
                    "the opened request is not what was sealed")
            replay(request)
            reseals(request, EnrollRequest.self)
            reseals(request, MapRequest.self)
            reseals(request, ReportRequest.self)
            reseals(request, Empty.self)
        }
        require(opened <= 1, "one sealed request opened as \(opened) operations")
    }

    /// A body the coordinator accepts, sealed again by the node's own encoder, opens to an equal
    /// body: the strict decoder accepts everything the encoder writes, and decoding loses nothing.
    static func reseals<B: Codable & Sendable & Equatable>(_ request: ControlCodec.OpenedRequest, _ type: B.Type) {
        guard let body = try? request.body(B.self) else { return }
        let again = ControlCodec.sealRequest(request.op, body, senderKey: Keys.node.publicKey, sharedKey: Keys.nodeShared, nowMillis: request.timestampMillis)
        guard again.bytes.count <= Envelope.maxSize else { return }  // escaping can make the JSON longer than the input
        do {
            let reopened = try ControlCodec.openRequest(again.bytes, expecting: request.op) { _ in Keys.coordinatorShared }
            require(reopened.timestampMillis == request.timestampMillis, "the timestamp changed on resealing")
            let decoded = try reopened.body(B.self)
            require(decoded == body, "\(B.self) decoded from its own encoding differs: \(body) vs \(decoded)")
        } catch {
            require(false, "\(B.self) \(body) was accepted, but its own encoding is refused: \(error)")
        }
    }

    /// The replay window admits a timestamp within the skew exactly once and refuses any other,
    /// Int64.min and .max included.
    static func replay(_ request: ControlCodec.OpenedRequest) {
        var window = ReplayWindow()
        let first = window.admit(nonce: request.nonce, timestampMillis: request.timestampMillis, nowMillis: Keys.now)
        let (offset, overflow) = request.timestampMillis.subtractingReportingOverflow(Keys.now)
        if !overflow, offset.magnitude <= UInt64(ControlCodec.maxSkewMillis) {
            require(first == nil, "a fresh request was refused: \(String(describing: first))")
            let second = window.admit(nonce: request.nonce, timestampMillis: request.timestampMillis, nowMillis: Keys.now)
            require(second?.code == .replayed, "a replayed request was not refused as a replay")
        } else {
            require(first?.code == .clockSkew && first?.serverTime == Keys.now, "a request \(request.timestampMillis) ms was not refused as clock skew")
        }
    }

    /// The reply JSON inside a correctly sealed box: what a node reads from its pinned
    /// coordinator. Every reply type the node opens; what opens re-seals and opens equal.
    static func sealedReply(_ bytes: [UInt8]) {
        var sealed = Keys.replyTemplate
        (sealed.nonce, sealed.box) = Keys.coordinatorShared.seal(bytes)
        let envelope = Envelope.encode(sealed)
        reply(envelope, EnrollReply.self)
        reply(envelope, MapUpdate.self)
        reply(envelope, ReportReply.self)
        reply(envelope, Empty.self)
    }

    static func reply<B: Codable & Sendable & Equatable>(_ envelope: [UInt8], _ type: B.Type) {
        guard let result = try? ControlCodec.openReply(envelope, as: B.self, sharedKey: Keys.nodeShared, requestNonce: Keys.requestNonce) else { return }
        let again = ControlCodec.sealReply(result, inReplyTo: Keys.requestNonce, sharedKey: Keys.coordinatorShared, nowMillis: Keys.now)
        do {
            let reopened = try ControlCodec.openReply(again, as: B.self, sharedKey: Keys.nodeShared, requestNonce: Keys.requestNonce)
            require(reopened == result, "\(B.self) reply decoded from its own encoding differs: \(result) vs \(reopened)")
        } catch {
            require(false, "\(B.self) reply \(result) was accepted, but its own encoding is refused: \(error)")
        }
        if case .success(let value) = result {
            // The coordinator's other way of sealing a result (an encoded map shared by waiters).
            let shared = ControlCodec.sealReply(encodedOK: ControlCodec.encodeJSON(value), inReplyTo: Keys.requestNonce, sharedKey: Keys.coordinatorShared, nowMillis: Keys.now)
            let reopened = try? ControlCodec.openReply(shared, as: B.self, sharedKey: Keys.nodeShared, requestNonce: Keys.requestNonce)
            require(reopened == result, "\(B.self) reply sealed from its encoding differs: \(result) vs \(String(describing: reopened))")
        }
    }
}
