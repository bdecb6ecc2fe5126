#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import NIOCore
import Synchronization
import TeamwireCore

/// The node side of the control protocol: every request sealed between the node's WireGuard key
/// and the pinned coordinator key, every reply opened with the same pair and checked to answer
/// the request it belongs to.
public final class NodeClient: Sendable {
    public let coordinatorKey: PublicKey
    public let endpoints: [Endpoint]
    let privateKey: PrivateKey
    let publicKey: PublicKey
    let shared: SharedKey
    /// How long to wait for a connection (an unreachable endpoint fails fast, the next is tried).
    let connectTimeout: TimeAmount
    /// Correction to the local clock learnt from a clock_skew refusal (robots often boot with
    /// no real-time clock).
    let clockOffset = Mutex<Int64>(0)
    /// Index of the endpoint that last answered, tried first next time.
    let preferred = Mutex<Int>(0)

    public static let maxReplyBytes = 64 * 1024 * 1024

    public init(coordinatorKey: PublicKey, endpoints: [Endpoint], privateKey: PrivateKey, connectTimeout: TimeAmount = .seconds(3)) {
        self.coordinatorKey = coordinatorKey
        self.endpoints = endpoints
        self.privateKey = privateKey
        self.publicKey = privateKey.publicKey
        self.shared = SharedKey(privateKey: privateKey, publicKey: coordinatorKey)
        self.connectTimeout = connectTimeout
    }

    public convenience init(token: EnrolmentToken, privateKey: PrivateKey, connectTimeout: TimeAmount = .seconds(3)) {
        self.init(coordinatorKey: token.coordinatorKey, endpoints: token.endpoints, privateKey: privateKey, connectTimeout: connectTimeout)
    }

    public func enroll(token: EnrolmentToken, name: String, endpoints: [Endpoint] = [], listenPort: UInt16? = nil, machineID: String? = nil,
                       timeout: Duration = .seconds(30)) async throws(ClientError) -> EnrollReply {
        let req = EnrollRequest(token: token, name: name, endpoints: endpoints, listenPort: listenPort, machineID: machineID)
        do {
            return try await call(.enroll, req, EnrollReply.self, timeout: Self.amount(timeout))
        } catch .refused(let e) where machineID != nil && Self.predatesMachineID(e) {
            var plain = req
            plain.machineID = nil
            return try await call(.enroll, plain, EnrollReply.self, timeout: Self.amount(timeout))
        }
    }

    /// A coordinator older than the machine id refuses the field it does not know (its
    /// requests are decoded strictly): ask it again without.
    static func predatesMachineID(_ e: APIError) -> Bool { e.code == .badRequest && e.message.contains("unknown field") && e.message.contains("machineID") }

    /// The team map since `revision`, waiting up to `wait` for a change.
    public func map(since revision: UInt64, wait: Int = 0) async throws(ClientError) -> MapUpdate {
        try await call(.map, MapRequest(since: revision, waitSeconds: wait), MapUpdate.self,
                       timeout: .seconds(Int64(min(max(wait, 0), MapRequest.maxWaitSeconds)) + 15))
    }

    /// Whole seconds as NIO's nanoseconds, at most a year (Duration's range is far wider).
    static func amount(_ d: Duration) -> TimeAmount { .seconds(min(max(d.components.seconds, 0), 366 * 86_400)) }

    public func report(endpoints: [Endpoint], listenPort: UInt16?, machineID: String? = nil, timeout: Duration = .seconds(15)) async throws(ClientError) -> ReportReply {
        do {
            return try await call(.report, ReportRequest(endpoints: endpoints, listenPort: listenPort, machineID: machineID), ReportReply.self, timeout: Self.amount(timeout))
        } catch .refused(let e) where machineID != nil && Self.predatesMachineID(e) {
            return try await call(.report, ReportRequest(endpoints: endpoints, listenPort: listenPort), ReportReply.self, timeout: Self.amount(timeout))
        }
    }

    public func leave(timeout: Duration = .seconds(15)) async throws(ClientError) {
        _ = try await call(.leave, Empty(), Empty.self, timeout: Self.amount(timeout))
    }

    func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) &+ clockOffset.withLock { $0 } }

    func call<B: Codable & Sendable, R: Codable & Sendable>(_ op: TeamwireCore.Operation, _ body: B, _ reply: R.Type, timeout: TimeAmount) async throws(ClientError) -> R {
        do {
            return try await attempt(op, body, reply, timeout: timeout)
        } catch .refused(let e) where e.code == .clockSkew && e.serverTime != nil {
            // The refusal was sealed by the coordinator, so its clock can be trusted: adopt it and retry once.
            let local = Int64(Date().timeIntervalSince1970 * 1000)
            // Sealed, so from the coordinator; still a number from outside: no overflow.
            let (offset, overflow) = e.serverTime!.subtractingReportingOverflow(local)
            guard !overflow, offset.magnitude <= 100 * 366 * 86_400_000 else {
                throw .badReply("the coordinator's clock reads \(e.serverTime!) ms, too far from this node's to adopt")
            }
            clockOffset.withLock { $0 = offset }
            return try await attempt(op, body, reply, timeout: timeout)
        }
    }

    func attempt<B: Codable & Sendable, R: Codable & Sendable>(_ op: TeamwireCore.Operation, _ body: B, _ reply: R.Type, timeout: TimeAmount) async throws(ClientError) -> R {
        let sealed = ControlCodec.sealRequest(op, body, senderKey: publicKey, sharedKey: shared, nowMillis: now())
        let (status, contentType, bytes) = try await post(op.path, sealed.bytes, timeout: timeout)
        if contentType == Envelope.contentType {
            let result: Result<R, APIError>
            do { result = try ControlCodec.openReply(bytes, as: R.self, sharedKey: shared, requestNonce: sealed.nonce) } catch {
                throw .badReply(error.message)
            }
            switch result {
            case .success(let r): return r
            case .failure(let e): throw .refused(e)
            }
        }
        let plain = try? JSONDecoder().decode(ErrorBody.self, from: Data(bytes))
        throw .unauthenticated(status: status, plain?.error)
    }

    /// POSTs to the first endpoint that answers, starting with the one that answered last.
    func post(_ path: String, _ body: [UInt8], timeout: TimeAmount) async throws(ClientError) -> (Int, String?, [UInt8]) {
        var failures: [(Endpoint, String)] = []
        let start = preferred.withLock { $0 }
        for i in 0..<endpoints.count {
            let idx = (start + i) % endpoints.count
            let e = endpoints[idx]
            do {
                let r = try await HTTPExchange.send(.POST, .tcp(host: e.hostString, port: Int(e.port)), path: path,
                                                    headers: [("Content-Type", Envelope.contentType)], body: body,
                                                    connectTimeout: connectTimeout, timeout: timeout, maxBody: Self.maxReplyBytes)
                preferred.withLock { $0 = idx }
                return (r.status, r.contentType, r.body)
            } catch let f as HTTPExchange.Failure where f.sent {
                // The coordinator has the request: another endpoint would be the same request
                // again (refused as a replay). The caller decides whether to ask anew.
                preferred.withLock { $0 = idx }
                throw .noReply("the coordinator at \(e) \(f.cancelled ? "had the request when it was interrupted" : f.description)")
            } catch let f as HTTPExchange.Failure where f.cancelled {
                failures.append((e, "interrupted"))
                break
            } catch {
                failures.append((e, "\(error)"))
            }
        }
        throw .unreachable(Self.unreachableText(failures))
    }

    /// "cannot reach the coordinator at 192.0.2.1:7946: connection refused", or with several
    /// endpoints "... at 192.0.2.1:7946 (connection refused) or at [2001:db8::1]:7946 (timed out after 3 s)".
    static func unreachableText(_ failures: [(Endpoint, String)]) -> String {
        if failures.isEmpty { return "cannot reach the coordinator: no endpoint to ask" }
        if failures.count == 1 { return "cannot reach the coordinator at \(failures[0].0): \(failures[0].1)" }
        return "cannot reach the coordinator at " + failures.map { "\($0.0) (\($0.1))" }.joined(separator: " or at ")
    }
}
