import AsyncHTTPClient
import Foundation
import NIOCore
import TeamwireCore

/// One simulated member: its own WireGuard key and the shared key with the coordinator.
struct SimNode: Sendable {
    let key: PrivateKey
    let name: String
    let shared: SharedKey

    init(name: String, coordinatorKey: PublicKey) {
        key = PrivateKey.generate()
        self.name = name
        shared = SharedKey(privateKey: key, publicKey: coordinatorKey)
    }
}

/// One HTTP exchange as it went over the wire.
struct WireReply: Sendable {
    var status: Int
    var contentType: String?
    var body: [UInt8]
    /// Status line + header lines + blank line, as HTTP/1.1 serialises them.
    var headerBytes: Int
    /// When the whole body had arrived.
    var arrived: ContinuousClock.Instant
}

/// The sealed node protocol exactly as NodeClient speaks it (ControlCodec.sealRequest, POST with
/// the sealed content type, ControlCodec.openReply), but done here so the benchmark sees the
/// bytes on the wire and can still read replies larger than Envelope.maxSize (NodeClient
/// refuses those; see the report).
struct SealedHTTP: Sendable {
    let http: HTTPClient
    let endpoint: Endpoint

    /// Approximate size of the request line and headers AsyncHTTPClient sends with a sealed POST.
    func requestHeaderBytes(_ op: TeamwireCore.Operation, bodyBytes: Int) -> Int {
        "POST \(op.path) HTTP/1.1\r\nhost: \(endpoint)\r\nContent-Type: \(Envelope.contentType)\r\ncontent-length: \(bodyBytes)\r\n\r\n".utf8.count
    }

    func post(_ op: TeamwireCore.Operation, _ body: [UInt8], timeout: TimeAmount) async throws -> WireReply {
        var req = HTTPClientRequest(url: "http://\(endpoint)\(op.path)")
        req.method = .POST
        req.headers.add(name: "Content-Type", value: Envelope.contentType)
        req.body = .bytes(ByteBuffer(bytes: body))
        let resp = try await http.execute(req, timeout: timeout)
        let buf = try await resp.body.collect(upTo: 256 << 20)
        let arrived = ContinuousClock.now
        var header = "HTTP/1.1 \(resp.status.code) \(resp.status.reasonPhrase)\r\n".utf8.count + 2
        for h in resp.headers { header += h.name.utf8.count + 2 + h.value.utf8.count + 2 }
        return WireReply(status: Int(resp.status.code), contentType: resp.headers.first(name: "Content-Type"), body: Array(buffer: buf), headerBytes: header, arrived: arrived)
    }

    /// Seals `body` as `node` and posts it.
    func call<B: Codable & Sendable>(_ op: TeamwireCore.Operation, _ body: B, as node: SimNode, timeout: TimeAmount) async throws -> (ControlCodec.SealedOutgoing, WireReply) {
        let sealed = ControlCodec.sealRequest(op, body, senderKey: node.key.publicKey, sharedKey: node.shared, nowMillis: Int64(Date().timeIntervalSince1970 * 1000))
        return (sealed, try await post(op, sealed.bytes, timeout: timeout))
    }
}

/// Opens a sealed reply like NodeClient does; replies over Envelope.maxSize (which
/// ControlCodec.openReply refuses) are opened by hand so the benchmark can still check them.
func openReply<R: Codable & Sendable>(_ body: [UInt8], as: R.Type, node: SimNode, nonce: [UInt8]) -> Result<R, BenchError> {
    if body.count <= Envelope.maxSize {
        do {
            switch try ControlCodec.openReply(body, as: R.self, sharedKey: node.shared, requestNonce: nonce) {
            case .success(let r): return .success(r)
            case .failure(let e): return .failure(BenchError("refused: \(e.code): \(e.message)"))
            }
        } catch {
            return .failure(BenchError("cannot open: \(error.code): \(error.message)"))
        }
    }
    guard let plain = openOversize(body, node: node) else { return .failure(BenchError("cannot open an oversize reply")) }
    guard let reply = try? JSONDecoder().decode(SealedReply<R>.self, from: Data(plain)) else { return .failure(BenchError("undecodable reply")) }
    guard reply.inReplyTo == Base64.encode(nonce) else { return .failure(BenchError("reply to another request")) }
    if let e = reply.error { return .failure(BenchError("refused: \(e.code): \(e.message)")) }
    guard let ok = reply.ok else { return .failure(BenchError("empty reply")) }
    return .success(ok)
}

/// The plaintext of a sealed reply of any size ("TW" 1 2 nonce(24) box).
func openOversize(_ body: [UInt8], node: SimNode) -> [UInt8]? {
    guard body.count >= 4 + SharedKey.nonceLength + SharedKey.macLength, body[0] == 0x54, body[1] == 0x57, body[2] == Envelope.version,
          body[3] == Envelope.Kind.reply.rawValue else { return nil }
    return node.shared.open(nonce: Array(body[4..<28]), box: Array(body[28...]))
}

/// Cheap check that a sealed reply is a success answering `nonce`: it opens with the member's key
/// and starts the way the coordinator writes every pre-encoded success (`sealReply(encodedOK:)`).
/// Used while growing the team, where decoding every full map would cost O(N) per enrolment.
func isSealedSuccess(_ body: [UInt8], node: SimNode, nonce: [UInt8]) -> Bool {
    guard let plain = openOversize(body, node: node) else { return false }
    let prefix = Array("{\"inReplyTo\":\"\(Base64.encode(nonce))\",\"ok\":".utf8)
    return plain.count > prefix.count && Array(plain[0..<prefix.count]) == prefix
}

/// `GET /v1/stats` on the admin socket, if this coordinator has it (parked long polls).
struct StatsProbe: Sendable {
    struct Stats: Decodable { var waitingPolls: Int; var members: Int }
    let http: HTTPClient
    let socketPath: String

    func get() async -> Stats? {
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: "/v1/stats") else { return nil }
        var req = HTTPClientRequest(url: url.absoluteString)
        req.headers.add(name: "X-Teamwire-Actor", value: "bench")
        guard let resp = try? await http.execute(req, timeout: .seconds(10)), resp.status == .ok,
              let body = try? await resp.body.collect(upTo: 1 << 20) else { return nil }
        return try? JSONDecoder().decode(Stats.self, from: Data(Array(buffer: body)))
    }
}
