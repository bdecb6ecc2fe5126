/// The binary frame around every sealed control message (HTTP body, content type
/// application/x-teamwire-sealed):
///
///   request: "TW" version(1) kind=1 senderKey(32) nonce(24) box
///   reply:   "TW" version(1) kind=2 nonce(24) box
///
/// The box holds JSON (`SealedRequest` / `SealedReply`). The sender key travels in the clear so
/// the coordinator can find the shared key; the box proves the sender holds the matching private key.
public enum Envelope {
    public static let contentType = "application/x-teamwire-sealed"
    static let magic: [UInt8] = [0x54, 0x57]
    public static let version: UInt8 = 1
    /// Largest request the coordinator reads.
    public static let maxSize = 64 * 1024
    /// Largest reply a node reads: a full map of a large team is megabytes.
    public static let maxReplySize = 64 * 1024 * 1024

    public enum Kind: UInt8, Sendable { case request = 1, reply = 2 }

    public struct Request: Sendable, Equatable {
        public var senderKey: PublicKey
        public var nonce: [UInt8]
        public var box: [UInt8]
    }

    public struct Reply: Sendable, Equatable {
        public var nonce: [UInt8]
        public var box: [UInt8]
    }

    public static func encode(_ r: Request) -> [UInt8] {
        magic + [version, Kind.request.rawValue] + r.senderKey.rawValue + r.nonce + r.box
    }

    public static func encode(_ r: Reply) -> [UInt8] {
        magic + [version, Kind.reply.rawValue] + r.nonce + r.box
    }

    private static func header(_ bytes: [UInt8], kind: Kind, minimum: Int) throws(APIError) {
        let limit = kind == .request ? maxSize : maxReplySize
        guard bytes.count <= limit else { throw APIError(.bodyTooLarge, "sealed message is larger than \(limit) bytes") }
        guard bytes.count >= 4, bytes[0] == magic[0], bytes[1] == magic[1] else {
            throw APIError(.badEnvelope, "body is not a teamwire sealed message (bad magic)")
        }
        guard bytes[2] == version else {
            throw APIError(.unsupportedVersion, "sealed message version \(bytes[2]) is not supported (this side speaks \(version))")
        }
        guard bytes[3] == kind.rawValue else { throw APIError(.badEnvelope, "sealed message is not a \(kind)") }
        guard bytes.count >= minimum else { throw APIError(.badEnvelope, "sealed message is truncated (\(bytes.count) bytes)") }
    }

    public static func decodeRequest(_ bytes: [UInt8]) throws(APIError) -> Request {
        try header(bytes, kind: .request, minimum: 4 + 32 + SharedKey.nonceLength + SharedKey.macLength)
        let key = try! PublicKey(rawValue: Array(bytes[4..<36]))
        return Request(senderKey: key, nonce: Array(bytes[36..<60]), box: Array(bytes[60...]))
    }

    public static func decodeReply(_ bytes: [UInt8]) throws(APIError) -> Reply {
        try header(bytes, kind: .reply, minimum: 4 + SharedKey.nonceLength + SharedKey.macLength)
        return Reply(nonce: Array(bytes[4..<28]), box: Array(bytes[28...]))
    }
}
