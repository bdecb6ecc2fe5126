#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Seals and opens control messages. Pure: the caller supplies keys and the clock.
public enum ControlCodec {
    /// How far a request's timestamp may be from the coordinator's clock.
    public static let maxSkewMillis: Int64 = 60_000

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }

    public static func encodeJSON<T: Encodable>(_ value: T) -> [UInt8] {
        // Encoding our own Codable types cannot fail.
        Array(try! encoder().encode(value))
    }

    // MARK: node side

    public struct SealedOutgoing: Sendable {
        public var bytes: [UInt8]
        public var nonce: [UInt8]
    }

    public static func sealRequest<B: Codable & Sendable>(
        _ op: Operation, _ body: B, senderKey: PublicKey, sharedKey: SharedKey, nowMillis: Int64
    ) -> SealedOutgoing {
        let plain = encodeJSON(SealedRequest(op: op, ts: nowMillis, body: body))
        let (nonce, box) = sharedKey.seal(plain)
        return SealedOutgoing(bytes: Envelope.encode(Envelope.Request(senderKey: senderKey, nonce: nonce, box: box)), nonce: nonce)
    }

    /// Opens the coordinator's reply to the request sent with `requestNonce`. A reply that was not
    /// made with the pinned key, was altered, or answers another request is refused.
    public static func openReply<B: Codable & Sendable>(
        _ bytes: [UInt8], as: B.Type, sharedKey: SharedKey, requestNonce: [UInt8]
    ) throws(APIError) -> Result<B, APIError> {
        let env = try Envelope.decodeReply(bytes)
        guard let plain = sharedKey.open(nonce: env.nonce, box: env.box) else {
            throw APIError(.cannotOpen, "the reply was not sealed by the pinned coordinator key (tampered, or not the coordinator)")
        }
        let reply: SealedReply<B>
        do { reply = try JSONDecoder().decode(SealedReply<B>.self, from: Data(plain)) } catch {
            throw APIError(.badEnvelope, "the coordinator's reply could not be decoded: \(error)")
        }
        guard reply.type == "reply", reply.inReplyTo == Base64.encode(requestNonce) else {
            throw APIError(.replayed, "the reply does not answer this request (replayed or reflected)")
        }
        if let e = reply.error { return .failure(e) }
        guard let ok = reply.ok else { throw APIError(.badEnvelope, "the coordinator's reply holds neither a result nor an error") }
        return .success(ok)
    }

    // MARK: coordinator side

    /// An opened, authenticated request whose body is still JSON.
    public struct OpenedRequest: Sendable {
        public var sender: PublicKey
        public var nonce: [UInt8]
        public var op: Operation
        public var timestampMillis: Int64
        public var plaintext: [UInt8]

        /// Decodes the body strictly: unknown fields are refused.
        public func body<B: Codable & Sendable>(_ type: B.Type) throws(APIError) -> B {
            try StrictJSON.decode(SealedRequest<B>.self, from: plaintext).body
        }

        public func decodedBody<B: Codable & Sendable>(_ type: B.Type) -> Result<B, APIError> {
            do { return .success(try body(type)) } catch { return .failure(error) }
        }
    }

    /// Opens a request. `sharedKey` maps the sender's public key to the shared key.
    public static func openRequest(
        _ bytes: [UInt8], expecting op: Operation, sharedKey: (PublicKey) -> SharedKey
    ) throws(APIError) -> OpenedRequest {
        let env = try Envelope.decodeRequest(bytes)
        let shared = sharedKey(env.senderKey)
        guard shared.isValid else {
            throw APIError(.badEnvelope, "the sender key is not a valid Curve25519 public key (a low-order point)")
        }
        guard let plain = shared.open(nonce: env.nonce, box: env.box) else {
            throw APIError(.cannotOpen, "the request could not be opened with the coordinator's key (sealed to another key, or altered)")
        }
        let head: SealedRequestHead
        do { head = try JSONDecoder().decode(SealedRequestHead.self, from: Data(plain)) } catch {
            throw APIError(.badRequest, "the sealed request is not a valid request: \(StrictJSON.describe(error))")
        }
        guard head.type == "request" else { throw APIError(.badRequest, "the sealed message is not a request") }
        guard head.op == op else {
            throw APIError(.badRequest, "the sealed request is for '\(head.op.rawValue)' but was sent to \(op.path)")
        }
        return OpenedRequest(sender: env.senderKey, nonce: env.nonce, op: head.op, timestampMillis: head.ts, plaintext: plain)
    }

    public static func sealReply<B: Codable & Sendable>(
        _ result: Result<B, APIError>, inReplyTo nonce: [UInt8], sharedKey: SharedKey, nowMillis: Int64
    ) -> [UInt8] {
        var reply = SealedReply<B>(inReplyTo: Base64.encode(nonce), ts: nowMillis, ok: nil, error: nil)
        switch result {
        case .success(let b): reply.ok = b
        case .failure(let e): reply.error = e
        }
        let (n, box) = sharedKey.seal(encodeJSON(reply))
        return Envelope.encode(Envelope.Reply(nonce: n, box: box))
    }

    /// Serialises an already-encoded body into a reply without re-encoding it: the coordinator
    /// encodes a team-map delta once and seals it separately for each waiting member.
    public static func sealReply(encodedOK body: [UInt8], inReplyTo nonce: [UInt8], sharedKey: SharedKey, nowMillis: Int64) -> [UInt8] {
        var plain = Array("{\"inReplyTo\":\"\(Base64.encode(nonce))\",\"ok\":".utf8)
        plain += body
        plain += Array(",\"ts\":\(nowMillis),\"type\":\"reply\"}".utf8)
        let (n, box) = sharedKey.seal(plain)
        return Envelope.encode(Envelope.Reply(nonce: n, box: box))
    }
}
