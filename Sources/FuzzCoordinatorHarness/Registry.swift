import Coordinator
import Dispatch
import Foundation
import FuzzHarness
import Logging
import TeamwireCore

/// The coordinator's side of the sealed protocol past the codec: `Registry.open` and the
/// handlers PublicAPI calls (enroll, mapUpdate, report, leave), on a real SQLite database in a
/// temporary directory, with a team "iris", a reusable token and two enrolled members.
public enum CoordinatorFuzz {
    public static let targets: [FuzzHarness.Target] = [
        FuzzHarness.Target(name: "registry", summary: "the request JSON in a correctly sealed box through the coordinator: Registry.open (codec and replay window), then enroll/mapUpdate/report/leave on a real SQLite state; every answer seals and opens as the reply type the node expects", run: registry),
    ]

    typealias Keys = FuzzHarness.Keys
    static func require(_ c: @autoclosure () -> Bool, _ m: @autoclosure () -> String, line: UInt = #line) { FuzzHarness.require(c(), m(), line: line) }

    /// The token id and secret written in seeds; replaced by the real token's before sealing, so
    /// an input can enrol (both have the length of the real ones).
    static let tokenIDPlaceholder = Array("0102030405060708".utf8)
    static let secretPlaceholder = Array(Base64.encode(Array(0..<32)).utf8)

    struct Fixture: Sendable {
        let registry: Registry
        let tokenID: [UInt8]
        let secret: [UInt8]
        let enrollAgain: [UInt8]
    }

    /// Where the fixture's database lives: tmpfs when there is one (the store syncs every commit).
    static let directory = (FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory())
        + "/teamwire-fuzz-\(getpid())"

    static let fixture: Fixture = {
        let dir = directory
        try? FileManager.default.removeItem(atPath: dir)
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: CoordinatorFuzz.directory) }
        var logger = Logger(label: "fuzz.coordinator")
        logger.logLevel = .critical
        let registry = try! Registry(store: try! Store(path: dir + "/coordinator.db"),
                                     identity: CoordinatorIdentity(privateKey: Keys.coordinator, endpoints: [Endpoint("192.0.2.1:7946")!],
                                                                   hubEndpoints: [Endpoint("192.0.2.1:51820")!]),
                                     logger: logger, clock: { Keys.now })
        _ = try! blocking { await registry.createTeam(CreateTeamRequest(name: "iris", prefix: IPv4Prefix("100.64.0.0/24")), actor: "fuzz") }.get()
        let created = try! blocking { await registry.createToken(team: "iris", CreateTokenRequest(reusable: true, expiresInSeconds: CreateTokenRequest.maxExpirySeconds), actor: "fuzz") }.get()
        let token = try! EnrolmentToken(parsing: created.token)
        // Long polls never park: the handler answers at once, as on shutdown.
        registry.drainPolls()
        func enroll(_ key: PrivateKey, _ name: String) -> [UInt8] {
            ControlCodec.sealRequest(.enroll, EnrollRequest(token: token, name: name, endpoints: [Endpoint("192.0.2.10:51820")!], listenPort: 51820),
                                     senderKey: key.publicKey, sharedKey: SharedKey(privateKey: key, publicKey: Keys.coordinator.publicKey), nowMillis: Keys.now).bytes
        }
        for (key, name) in [(PrivateKey.generate(), "robot2"), (Keys.node, "robot1")] {
            let (opened, _) = try! registry.open(enroll(key, name), op: .enroll).get()
            _ = try! blocking { await registry.enroll(opened, remoteIP: "203.0.113.5") }.get()
        }
        return Fixture(registry: registry, tokenID: Array(token.id.description.utf8), secret: Array(Base64.encode(token.secret).utf8),
                       enrollAgain: [UInt8](enroll(Keys.node, "robot1")))
    }()

    static func registry(_ bytes: [UInt8]) {
        let f = fixture
        var plain = replacing(tokenIDPlaceholder, with: f.tokenID, in: bytes)
        plain = replacing(secretPlaceholder, with: f.secret, in: plain)
        var sealed = try! Envelope.decodeRequest(f.enrollAgain)
        (sealed.nonce, sealed.box) = Keys.nodeShared.seal(plain)
        let envelope = Envelope.encode(sealed)
        for op in Operation.allCases {
            guard case .success(let (opened, shared)) = f.registry.open(envelope, op: op) else { continue }
            require(opened.plaintext == plain && opened.op == op, "Registry.open returned another request")
            let registry = f.registry
            // What PublicAPI's routes do with an opened request.
            let result: Result<[UInt8], APIError> = blocking {
                switch op {
                case .enroll: return await registry.enroll(opened, remoteIP: "203.0.113.5").map { ControlCodec.encodeJSON($0) }
                case .map:
                    switch opened.decodedBody(MapRequest.self) {
                    case .failure(let e): return .failure(e)
                    case .success(let body): return await registry.mapUpdate(for: opened.sender, body)
                    }
                case .report:
                    switch opened.decodedBody(ReportRequest.self) {
                    case .failure(let e): return .failure(e)
                    case .success(let body): return await registry.report(from: opened.sender, body, remoteIP: "203.0.113.5").map { ControlCodec.encodeJSON($0) }
                    }
                case .leave:
                    if case .failure(let e) = opened.decodedBody(Empty.self) { return .failure(e) }
                    return await registry.leave(opened.sender).map { ControlCodec.encodeJSON($0) }
                }
            }
            answerOpens(result, op: op, nonce: opened.nonce, shared: shared)
        }
        restore(f)
    }

    /// The answer, sealed as PublicAPI seals it, opens on the node as the type it expects.
    static func answerOpens(_ result: Result<[UInt8], APIError>, op: TeamwireCore.Operation, nonce: [UInt8], shared: SharedKey) {
        let sealed: [UInt8]
        switch result {
        case .success(let ok): sealed = ControlCodec.sealReply(encodedOK: ok, inReplyTo: nonce, sharedKey: shared, nowMillis: Keys.now)
        case .failure(let e): sealed = ControlCodec.sealReply(Result<Empty, APIError>.failure(e), inReplyTo: nonce, sharedKey: shared, nowMillis: Keys.now)
        }
        func open<B: Codable & Sendable>(_ type: B.Type) -> Result<B, APIError>? {
            try? ControlCodec.openReply(sealed, as: B.self, sharedKey: Keys.nodeShared, requestNonce: nonce)
        }
        let opened: Bool
        switch op {
        case .enroll:
            let r = open(EnrollReply.self)
            if case .success(let reply)? = r {
                require(reply.node.publicKey == Keys.node.publicKey && reply.map.full && (reply.map.members ?? []).contains(reply.node),
                        "an enrolment answered with another node or a map without it")
            }
            opened = r != nil
        case .map: opened = open(MapUpdate.self) != nil
        case .report: opened = open(ReportReply.self) != nil
        case .leave: opened = open(Empty.self) != nil
        }
        require(opened, "the \(op) answer does not open as its reply type: \(result)")
        if case .failure(let e) = result { require(e.code != .internalError, "the \(op) request made an internal error: \(e)") }
    }

    /// Puts robot1 back as enrolled (a request may have renamed it, or made it leave), so every
    /// input meets the same team.
    static func restore(_ f: Fixture) {
        let nodes = (try? f.registry.listNodes(team: "iris").get()) ?? []
        guard !nodes.contains(where: { $0.publicKey == Keys.node.publicKey && $0.name == "robot1" }) else { return }
        var again = try! Envelope.decodeRequest(f.enrollAgain)
        let plain = Keys.nodeShared.open(nonce: again.nonce, box: again.box)!
        (again.nonce, again.box) = Keys.nodeShared.seal(plain)  // a fresh nonce: the window saw the old one
        let (opened, _) = try! f.registry.open(Envelope.encode(again), op: .enroll).get()
        let registry = f.registry
        _ = try! blocking { await registry.enroll(opened, remoteIP: "203.0.113.5") }.get()
    }

    static func replacing(_ pattern: [UInt8], with replacement: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard bytes.count >= pattern.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + pattern.count <= bytes.count, bytes[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += replacement
                i += pattern.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// Runs async coordinator code from libFuzzer's synchronous callback, on the global executor.
    static func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = BlockingResult<T>(), done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }
}

/// Written by the task before it signals, read after the wait: the semaphore orders the two.
final class BlockingResult<T: Sendable>: @unchecked Sendable {
    var value: T?
}
