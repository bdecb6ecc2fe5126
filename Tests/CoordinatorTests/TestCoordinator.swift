import AsyncHTTPClient
import Coordinator
import CoordinatorClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import TeamwireCore

/// A real coordinator in this process: real SQLite file in a fresh temp directory, real HTTP on
/// 127.0.0.1 (kernel-chosen port), real admin Unix socket.
final class TestCoordinator: Stoppable {
    let dir: String
    let server: CoordinatorServer
    let group: ServiceGroup
    let task: Task<Void, Error>
    let port: Int

    static func start(dir: String? = nil, port: Int = 0, hub: HubConfig? = nil, logLevel: Logger.Level = .warning) async throws -> TestCoordinator {
        let dir = dir ?? makeTempDir()
        var logger = Logger(label: "test.coordinator")
        logger.logLevel = logLevel
        let server = try CoordinatorServer(config: CoordinatorConfig(stateDirectory: dir, listenHost: "127.0.0.1", listenPort: port, hub: hub), logger: logger)
        let group = ServiceGroup(configuration: .init(services: try server.services(), logger: logger))
        let ended = Locked(false)
        let task = Task {
            defer { ended.value = true }
            try await group.run()
        }
        // A service that fails at start (the hub) ends the group before the port is bound.
        let bound = await withTaskGroup(of: Int?.self) { g in
            g.addTask { await server.boundPort() }
            g.addTask {
                while !ended.value, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                return nil
            }
            let first = await g.next()!
            g.cancelAll()
            return first
        }
        guard let port = bound else {
            try await task.value
            throw CoordinatorError("the coordinator stopped before it listened")
        }
        // The admin socket binds concurrently with the public port: wait until it answers (the
        // file exists a moment before the socket listens).
        let admin = AdminClient(socketPath: server.config.adminSocketPath, actor: "tester")
        for _ in 0..<200 where (try? await admin.info()) == nil {
            try await Task.sleep(for: .milliseconds(10))
        }
        return TestCoordinator(dir: dir, server: server, group: group, task: task, port: port)
    }

    private init(dir: String, server: CoordinatorServer, group: ServiceGroup, task: Task<Void, Error>, port: Int) {
        self.dir = dir
        self.server = server
        self.group = group
        self.task = task
        self.port = port
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        server.releaseLock()
    }

    /// Starts a coordinator, runs `body` with it and stops it, awaited, whether `body` returns
    /// or throws.
    @discardableResult
    static func with<R>(dir: String? = nil, port: Int = 0, hub: HubConfig? = nil, logLevel: Logger.Level = .warning,
                        _ body: (TestCoordinator) async throws -> R) async throws -> R {
        try await start(dir: dir, port: port, hub: hub, logLevel: logLevel).stopping(body)
    }

    /// Stops this instance and starts a new one on the same state directory and port.
    func restart() async throws -> TestCoordinator {
        await stop()
        return try await TestCoordinator.start(dir: dir, port: port)
    }

    var registry: Registry { server.registry }
    var admin: AdminClient { AdminClient(socketPath: server.config.adminSocketPath, actor: "tester") }
    var endpoint: Endpoint { Endpoint("127.0.0.1:\(port)")! }
    var publicKey: PublicKey { registry.identity.publicKey }
    var databasePath: String { server.config.databasePath }

    @discardableResult
    func createTeam(_ name: String, cidr: String? = nil, mode: PathMode? = nil) async throws -> TeamInfo {
        try await admin.createTeam(CreateTeamRequest(name: name, prefix: cidr.flatMap(IPv4Prefix.init), mode: mode))
    }

    func token(_ team: String, uses: Int? = nil, reusable: Bool = false, expires: Int64? = nil, role: Role? = nil) async throws -> EnrolmentToken {
        let created = try await admin.createToken(team: team, CreateTokenRequest(uses: uses, reusable: reusable ? true : nil, expiresInSeconds: expires, role: role))
        return try EnrolmentToken(parsing: created.token)
    }

    /// A node holding only a token and a fresh WireGuard key.
    func node(_ token: EnrolmentToken, key: PrivateKey = .generate()) -> NodeClient {
        NodeClient(token: token, privateKey: key)
    }

    func enroll(_ token: EnrolmentToken, name: String, key: PrivateKey = .generate()) async throws -> (NodeClient, EnrollReply) {
        let n = node(token, key: key)
        return (n, try await n.enroll(token: token, name: name, endpoints: [Endpoint("192.0.2.10:51820")!], listenPort: 51820))
    }

    /// POSTs raw bytes to the public API: for hostile-input tests.
    func postRaw(_ path: String, _ body: [UInt8], contentType: String = Envelope.contentType) async throws -> (status: Int, body: [UInt8]) {
        var req = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        req.method = .POST
        req.headers.add(name: "Content-Type", value: contentType)
        req.body = .bytes(ByteBuffer(bytes: body))
        let resp = try await HTTPClient.shared.execute(req, timeout: .seconds(30))
        return (Int(resp.status.code), Array(buffer: try await resp.body.collect(upTo: 64 * 1024 * 1024)))
    }
}

func makeTempDir() -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("teamwire-test-\(UUID().uuidString.prefix(8))").path
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// The built `teamwire` executable, beside the test bundle (or $TEAMWIRE_BIN).
func teamwireBinary() -> String {
    if let p = ProcessInfo.processInfo.environment["TEAMWIRE_BIN"] { return p }
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [bundleDir, bundleDir.deletingLastPathComponent()] {
        let p = candidate.appendingPathComponent("teamwire").path
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return bundleDir.appendingPathComponent("teamwire").path
}

/// Runs the real CLI and returns exit status, stdout and stderr.
@discardableResult
func runCLI(_ args: [String], executable: String? = nil, timeout: Duration = .seconds(30)) async throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable ?? teamwireBinary())
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    async let o = Task.detached { out.fileHandleForReading.readDataToEndOfFile() }.value
    async let e = Task.detached { err.fileHandleForReading.readDataToEndOfFile() }.value
    let (od, ed) = await (o, e)
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
}

/// A `teamwire coordinator serve` child process.
final class CoordinatorProcess: @unchecked Sendable {
    let process = Process()
    let dir: String
    let port: Int
    let stderrPath: String

    init(dir: String, port: Int) throws {
        self.dir = dir
        self.port = port
        stderrPath = dir + ".stderr"
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: teamwireBinary())
        process.arguments = ["coordinator", "serve", "--state", dir, "--listen", "127.0.0.1:\(port)", "--no-hub", "--log-level", "warning"]
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until both the control port and the admin socket answer.
    func waitReady() async throws {
        let admin = AdminClient(socketPath: dir + "/admin.sock")
        for _ in 0..<300 {
            if (try? await admin.info()) != nil, (try? await HTTPClient.shared.get(url: "http://127.0.0.1:\(port)/v1/info").get())?.status == .ok { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw CoordinatorError("coordinator process did not become ready: \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

private let handedOutPorts = Mutex<Set<UInt16>>([])

/// A free loopback TCP port below the kernel's ephemeral range (32768 and up): a test that
/// stops and restarts a server on the same port must not find it taken in between by some
/// concurrent test's outgoing connection. Never the same port twice in one test process, so two
/// parallel tests cannot draw one port between the check and their bind.
func freePort() -> Int {
    while true {
        let port = UInt16.random(in: 20000..<32000)
        guard handedOutPorts.withLock({ $0.insert(port).inserted }) else { continue }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
        close(fd)
        if ok { return Int(port) }
    }
}

/// The coordinator's error code for a call expected to fail, or nil if it succeeded.
/// (Also sidesteps a Swift 6.3 compiler crash on `catch let e as ClientError` around typed throws.)
func refusal<T>(_ body: () async throws(ClientError) -> T) async -> ErrorCode? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error.code ?? ErrorCode("client:\(error)")
    }
}

func refusalError<T>(_ body: () async throws(ClientError) -> T) async -> ClientError? {
    do {
        _ = try await body()
        return nil
    } catch {
        return error
    }
}

/// A server a test starts and must stop, awaited, even when the test throws (a teardown left to
/// an unawaited Task could outlive the test).
protocol Stoppable: Sendable {
    func stop() async
}

extension Stoppable {
    /// Runs `body` with this server, then stops it, whether `body` returns or throws.
    @discardableResult
    func stopping<R>(_ body: (Self) async throws -> R) async throws -> R {
        let result: R
        do { result = try await body(self) } catch {
            await stop()
            throw error
        }
        await stop()
        return result
    }
}

/// A lock-protected value that closures can share (Mutex itself cannot be captured).
final class Locked<T: Sendable>: Sendable {
    private let m: Mutex<T>
    init(_ v: T) { m = Mutex(v) }
    var value: T {
        get { m.withLock { $0 } }
        set { m.withLock { $0 = newValue } }
    }
    func mutate<R>(_ body: (inout T) -> R) -> R { m.withLock { body(&$0) } }
}

func refusalResult<T>(_ body: () async throws(ClientError) -> T) async -> (T?, ClientError?) {
    do {
        return (try await body(), nil)
    } catch {
        return (nil, error)
    }
}
