import TeamwireCore

extension FuzzHarness {
    /// Fixed keys, so every run is reproducible: the harness is both the coordinator and the node.
    package enum Keys {
        package static let coordinator = try! PrivateKey(rawValue: (0..<32).map { UInt8(truncatingIfNeeded: 0x40 + $0 * 7) })
        package static let node = try! PrivateKey(rawValue: (0..<32).map { UInt8(truncatingIfNeeded: 0x90 + $0 * 13) })
        /// The coordinator's side (its key, the node's public key) and the node's.
        package static let coordinatorShared = SharedKey(privateKey: coordinator, publicKey: node.publicKey)
        package static let nodeShared = SharedKey(privateKey: node, publicKey: coordinator.publicKey)
        /// The nonce of the request a sealed reply answers.
        package static let requestNonce: [UInt8] = (0..<24).map { UInt8($0) }
        /// Envelopes made by the codec, whose nonce and box the harness replaces (their
        /// initializers are internal: only the codec makes envelopes).
        package static let requestTemplate = try! Envelope.decodeRequest(
            ControlCodec.sealRequest(.leave, Empty(), senderKey: node.publicKey, sharedKey: nodeShared, nowMillis: now).bytes)
        package static let replyTemplate = try! Envelope.decodeReply(
            ControlCodec.sealReply(Result<Empty, APIError>.success(Empty()), inReplyTo: requestNonce, sharedKey: coordinatorShared, nowMillis: now))
        /// The coordinator's clock for the replay window: 2026-06-01.
        package static let now: Int64 = 1_780_272_000_000
    }
}
