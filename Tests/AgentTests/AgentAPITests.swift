@testable import Agent
import Foundation
import Logging
import Testing
import TestSupport

/// The agent's Unix-socket API (`teamwire join`, `status`, `leave`) against hostile requests:
/// extreme numbers wherever a body can carry one, numbers for every string, unknown numeric
/// fields, extreme Content-Length headers. Each gets a 4xx with a JSON error naming what was
/// wrong; afterwards the agent answers its status and has made no team, key or interface.
/// The agent runs for real on a temporary state directory (no interface is ever made: no
/// request gets that far).
@Suite("Agent API under hostile input")
struct AgentAPITests {
    static let numbers: [String] = [
        "-9223372036854775808", "-9223372036854775807", "-1", "-0", "0", "0.5", "1", "1.5e3", "65535", "65536", "2147483647", "4294967295",
        "9007199254740993", "9223372036854775807", "18446744073709551615", "18446744073709551616", "1e308", "-1e308", "1e400", "-1e400",
        "1" + String(repeating: "0", count: 399),
    ]
    static let notJSON: [String] = ["NaN", "Infinity", "+1", "01", ".5", "0x10"]

    /// How long a raw exchange waits for the agent (SO_RCVTIMEO). Long: other suites in this
    /// process wait on child processes synchronously and can hold every cooperative thread (two
    /// on two cores) for more than 10 s, during which the agent's accept loop cannot run.
    static let patience = 60

    struct ErrorBody: Decodable {
        struct E: Decodable { var code: String; var message: String }
        var error: E
    }

    struct Reply {
        var status: Int
        var body: [UInt8]
        var error: ErrorBody.E? { try? JSONDecoder().decode(ErrorBody.self, from: Data(body)).error }
    }

    /// One raw HTTP/1.1 exchange on the socket: `head` is sent as written (so a header can carry
    /// any text), then the body; nil when the agent closed without an answer. `halfClose` ends
    /// the sending side, so a request the agent waits on for more body ends at once.
    /// Runs on a thread of its own: blocking on one of Swift concurrency's threads (two on two
    /// cores) starved the agent it waits for whenever another test blocked the other one.
    static func exchange(_ socketPath: String, _ head: String, body: [UInt8] = [], halfClose: Bool = false) async throws -> Reply? {
        try await withCheckedThrowingContinuation { c in
            Thread { c.resume(with: Result { try blockingExchange(socketPath, head, body: body, halfClose: halfClose) }) }.start()
        }
    }

    /// A socket connected to the agent, reads waiting up to `patience`.
    static func connected(_ socketPath: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var tv = timeval(tv_sec: patience, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = RawSocket.unixAddress(socketPath)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    private static func blockingExchange(_ socketPath: String, _ head: String, body: [UInt8], halfClose: Bool) throws -> Reply? {
        let fd = try connected(socketPath)
        defer { close(fd) }
        let out = Array(head.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }
            sent += n
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        let reply = RawSocket.readToEnd(fd)
        guard let end = reply.indices.first(where: { reply[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else { return nil }
        let statusLine = String(decoding: reply.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        guard statusLine.count > 1, let status = Int(statusLine[1]) else { return nil }
        return Reply(status: status, body: Array(reply[(end + 4)...]))
    }

    static func post(_ socketPath: String, _ path: String, _ body: String) async throws -> Reply? {
        let b = Array(body.utf8)
        return try await exchange(socketPath, "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(b.count)\r\nConnection: close\r\n\r\n", body: b)
    }

    /// A team or node name the agent takes (a DNS label: a-z, 0-9, '-' inside, 1 to 63 characters).
    static func isLabel(_ s: String) -> Bool {
        (1...63).contains(s.utf8.count) && !s.hasPrefix("-") && !s.hasSuffix("-")
            && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// Decodes from any JSON value: whether a text is JSON at all.
    struct AnyJSON: Decodable { init(from decoder: any Decoder) {} }

    /// Whether JSON text `v` decodes as a `T`.
    static func fits<T: Decodable>(_ v: String, _: T.Type) -> Bool {
        (try? JSONDecoder().decode([T].self, from: Data("[\(v)]".utf8))) != nil
    }

    /// A real agent on a fresh state directory serving its API; returns the directory once it answers.
    static func startAgent() async throws -> (dir: String, server: Task<Void, any Error>) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("teamwire-agent-api-\(UUID().uuidString.prefix(8))").path
        var logger = Logger(label: "test.agent")
        logger.logLevel = .critical
        let agent = try Agent(config: AgentConfig(stateDirectory: dir, mdns: false), logger: logger) { _ in }
        let server = Task { try await AgentAPI.serve(agent, logger: logger) }
        let sock = TeamStore(root: dir).paths.socketPath
        for _ in 0..<200 {
            if (try? await exchange(sock, "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n")) != nil { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        return (dir, server)
    }

    @Test func extremeNumbersEverywhereAreRefusedClearly() async throws {
        let (dir, server) = try await Self.startAgent()
        defer { server.cancel() }
        let store = TeamStore(root: dir)
        let sock = store.paths.socketPath

        var cases: [(label: String, path: String, body: String, status: Int, mentioning: String)] = []
        for v in Self.numbers + Self.notJSON {
            // What the strict decoder says about v where it does not belong: a syntax error, a
            // number beyond any JSON number (1e400), or the wrong type at a field.
            func says(_ otherwise: String) -> String {
                !Self.fits(v, AnyJSON.self) ? "not valid JSON" : !Self.fits(v, Double.self) ? "beyond what a JSON number can hold" : otherwise
            }
            func wrong(_ field: String) -> String { says("wrong type at '\(field)'") }
            cases += [
                ("join token \(v.prefix(20))", "/v1/join", #"{"token":\#(v),"name":"robot1"}"#, 400, wrong("token")),
                ("join name \(v.prefix(20))", "/v1/join", #"{"token":"twt1-AAAA","name":\#(v)}"#, 400, wrong("name")),
                // A body must be an object: a bare number is no request at all.
                ("join body \(v.prefix(20))", "/v1/join", v, 400, says("not valid JSON")),
                ("join unknown number \(v.prefix(20))", "/v1/join", #"{"token":"twt1-AAAA","name":"robot1","listenPort":\#(v)}"#, 400,
                 says("unknown field 'listenPort'")),
                ("leave team \(v.prefix(20))", "/v1/leave", #"{"team":\#(v)}"#, 400, wrong("team")),
                ("leave body \(v.prefix(20))", "/v1/leave", v, 400, says("not valid JSON")),
                ("leave unknown number \(v.prefix(20))", "/v1/leave", #"{"team":"iris","revision":\#(v)}"#, 400, says("unknown field 'revision'")),
                // Numbers as text where the agent reads names and tokens: refused by what they are.
                ("join token \"\(v.prefix(20))\"", "/v1/join", #"{"token":"\#(v)","name":"robot1"}"#, 422, "not a valid teamwire token"),
                ("join name \"\(v.prefix(20))\"", "/v1/join", #"{"token":"twt1-AAAA","name":"\#(v)"}"#, 422, "not a valid teamwire token"),
                ("leave team \"\(v.prefix(20))\"", "/v1/leave", #"{"team":"\#(v)"}"#, 422, Self.isLabel(v) ? "not a member of team" : "bad team name"),
            ]
        }
        // Lengths up to and past the 16 KiB body cap.
        for n in [0, 1, 63, 64, 16_000] {
            let team = String(repeating: "a", count: n)
            cases.append(("leave team of \(n) characters", "/v1/leave", #"{"team":"\#(team)"}"#, 422, Self.isLabel(team) ? "not a member of team" : "bad team name"))
        }
        cases.append(("body over 16 KiB", "/v1/join", #"{"token":"\#(String(repeating: "a", count: 17_000))","name":"robot1"}"#, 413, "larger than 16384 bytes"))

        for c in cases {
            guard let r = try await Self.post(sock, c.path, c.body) else {
                Issue.record("\(c.label): the agent closed without answering")
                continue
            }
            #expect(r.status == c.status, "\(c.label): HTTP \(r.status), expected \(c.status): \(String(decoding: r.body.prefix(200), as: UTF8.self))")
            let e = try #require(r.error, "\(c.label): not a JSON error: \(String(decoding: r.body.prefix(200), as: UTF8.self))")
            #expect(e.message.contains(c.mentioning), "\(c.label): '\(e.message)' should mention '\(c.mentioning)'")
        }

        // Content-Length itself: whatever NIO's parser makes of it, an answer (if any) is a 4xx,
        // and the agent goes on serving.
        for v in Self.numbers + Self.notJSON + ["", " ", "1, 2"] {
            let r = try await Self.exchange(sock, "POST /v1/join HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(v)\r\n\r\n",
                                      body: Array("{}".utf8), halfClose: true)
            if let r { #expect((400..<500).contains(r.status), "Content-Length \(v.prefix(20)): HTTP \(r.status)") }
        }

        let status = try #require(try await Self.exchange(sock, "GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(status.status == 200 && String(decoding: status.body, as: UTF8.self).contains(#""teams":[]"#))
        // Nothing was made: no team directory, no key.
        #expect(store.teams().isEmpty)
        #expect((try FileManager.default.contentsOfDirectory(atPath: dir + "/teams")).isEmpty)
    }

    /// A client that connects and sends nothing, or half a request, is closed by the agent
    /// (`AgentAPI.requestDeadline`, 5 s): the read ends with EOF, not with this side's
    /// receive timeout (`patience`). The agent goes on serving.
    @Test func aRequestThatNeverArrivesIsClosed() async throws {
        let (dir, server) = try await Self.startAgent()
        defer { server.cancel() }
        let sock = TeamStore(root: dir).paths.socketPath
        for partial in ["", "GET /v1/status HTTP/1.1\r\nHost: x\r\n"] {
            let ending: String = try await withCheckedThrowingContinuation { c in
                Thread {
                    c.resume(with: Result {
                        let fd = try Self.connected(sock)
                        defer { close(fd) }
                        _ = Array(partial.utf8).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                        var byte: UInt8 = 0
                        let n = recv(fd, &byte, 1, 0)
                        return n == 0 ? "closed" : n < 0 ? "still open (errno \(errno))" : "answered"
                    })
                }.start()
            }
            #expect(ending == "closed", "after \(partial.isEmpty ? "nothing" : "half a request")")
        }
        let status = try #require(try await Self.exchange(sock, "GET /v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        #expect(status.status == 200)
    }
}
