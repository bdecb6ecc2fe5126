import ArgumentParser
import AsyncHTTPClient
import CoordinatorClient
import Foundation
import NIOCore
import NIOPosix
import TeamwireCore

/// Enrolment throughput, long-poll fan-out, coordinator memory and bytes per member per change,
/// against the real `teamwire coordinator serve` binary over loopback with a real SQLite file.
struct CoordinatorBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "coordinator",
        abstract: "Enrolments per second, time to wake N long polls after one change, coordinator memory, bytes per member per change.",
        discussion: """
            Spawns `teamwire coordinator serve` (beside this executable, or $TEAMWIRE_BIN) on 127.0.0.1 with a
            fresh state directory, and talks to it only as nodes (sealed HTTP) and as an admin (Unix socket) do.
            Every simulated member has its own WireGuard key and its own HTTP connection.
            """
    )

    @Option(help: "Team sizes to measure, comma-separated.") var members: String = "100,1000,10000"
    @Option(help: "Enrolments for the throughput figure.") var enrolments: Int = 500
    @Option(help: "Enrolments in flight for the throughput figure.") var concurrency: Int = 32
    @Option(help: "Enrolments in flight while growing the team to each size.") var growConcurrency: Int = 64
    @Option(help: "waitSeconds of each long poll.") var wait: Int = 110
    @Option(help: "Long polls opened per batch (each batch waits until parked).") var pollBatch: Int = 1000
    @Flag(help: "Print the results as JSON on stdout.") var json = false
    @Option(help: ArgumentHelp("At the end, park this many long polls (waitSeconds 20) and time how long SIGTERM takes to stop the coordinator. 0: skip.", valueName: "polls"))
    var shutdownCheck: Int = 0

    func validate() throws {
        guard let s = parsedSizes, !s.isEmpty, s.allSatisfy({ (2...60_000).contains($0) }) else {
            throw ValidationError("--members must be a comma-separated list of sizes in 2...60000")
        }
        guard enrolments > 0, concurrency > 0, growConcurrency > 0, pollBatch > 0 else { throw ValidationError("counts must be positive") }
        guard (1...MapRequest.maxWaitSeconds).contains(wait) else { throw ValidationError("--wait must be 1...\(MapRequest.maxWaitSeconds)") }
    }

    var parsedSizes: [Int]? {
        let parts = members.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.allSatisfy({ $0 != nil }) else { return nil }
        return Array(Set(parts.map { $0! })).sorted()
    }

    func run() async throws {
        let sizes = parsedSizes!
        let maxN = sizes.last!
        let nofile = raiseFileLimit()
        progress("RLIMIT_NOFILE raised to \(nofile) (inherited by the coordinator)")
        if nofile < maxN + 200 {
            progress("warning: \(nofile) open files cannot hold \(maxN) long polls plus overhead in one process; the largest sizes will fail")
        }
        var cfg = HTTPClient.Configuration()
        cfg.connectionPool = .init(idleTimeout: .seconds(600), concurrentHTTP1ConnectionsPerHostSoftLimit: maxN + 200)
        cfg.timeout = .init(connect: .seconds(30), read: .seconds(Int64(wait) + 60))
        cfg.httpVersion = .http1Only
        let elg = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let http = HTTPClient(eventLoopGroupProvider: .shared(elg), configuration: cfg)
        let child: ChildCoordinator
        do { child = try ChildCoordinator() } catch {
            try? await http.shutdown()
            throw error
        }
        progress("coordinator \(child.binary) pid \(child.pid) on 127.0.0.1:\(child.port), state \(child.dir)")
        let outcome: Result<Results, Error>
        do {
            outcome = .success(try await measure(child: child, http: http, sizes: sizes))
        } catch {
            outcome = .failure(error)
            progress("failed: \(error)")
            if !child.process.isRunning { progress("coordinator log: \(child.logTail())") }
        }
        try? await http.shutdown()
        try? await elg.shutdownGracefully()
        child.stop()
        report(try outcome.get())
    }

    // MARK: results

    struct Enrolment: Codable {
        var count: Int
        var inFlight: Int
        var seconds: Double
        var perSecond: Double
        var p50Ms: Double, p99Ms: Double, maxMs: Double
        var failures: Int
        /// Replies larger than Envelope.maxSize, which NodeClient refuses to open.
        var oversizeReplies: Int
        var meanReplyBytes: Double
        var lastReplyBytes: Int
    }

    struct Growth: Codable {
        var from: Int, to: Int
        var seconds: Double
        var perSecond: Double
        /// Rate over the last enrolments of the segment (the team at its largest).
        var tailPerSecond: Double
        var failures: Int
        var lastReplyBytes: Int
    }

    struct FanOut: Codable {
        var change: String
        var members: Int
        var parkSeconds: Double
        var commitMs: Double
        var firstMs: Double, medianMs: Double, p99Ms: Double, lastMs: Double
        var perMemberMicros: Double
        var ok: Int, failures: Int
        var failureKinds: [String: Int]
        var meanReplyBodyBytes: Double
        var meanReplyHeaderBytes: Double
        var requestBytes: Int
        var coordinatorCPUSeconds: Double
        var rssMiB: Double, hwmMiB: Double
        var coordinatorFDs: Int
        /// TcpExtListenOverflows while the polls connected (system-wide counter).
        var listenOverflows: Int
    }

    /// SIGTERM with long polls parked.
    struct Shutdown: Codable {
        var parkedPolls: Int
        var pollWaitSeconds: Int
        var exitSeconds: Double?
        var pollsAnswered: Int
        var pollsFailed: Int
        var lastPollEndSeconds: Double
    }

    /// What a real NodeClient gets from this team: enrolling, and fetching the full map.
    struct NodeClientCheck: Codable {
        var members: Int
        var enrol: String
        var fullMap: String
    }

    struct Memory: Codable {
        var members: Int
        var idleRSSMiB: Double
        var parkedRSSMiB: Double
        var hwmMiB: Double
    }

    struct Results: Codable {
        var cores: Int
        var enrolment: Enrolment
        var growth: [Growth]
        var fanOut: [FanOut]
        var memory: [Memory]
        var nodeClient: [NodeClientCheck]
        var shutdown: Shutdown?
        var parkDetection: String
    }

    // MARK: the measurement

    func measure(child: ChildCoordinator, http: HTTPClient, sizes: [Int]) async throws -> Results {
        let admin = child.admin(http: http)
        try await child.waitReady(admin)
        // The throughput figure enrols into a team of its own, so that the fan-out team has exactly N members.
        _ = try await admin.createTeam(CreateTeamRequest(name: "enrol", prefix: IPv4Prefix("100.65.0.0/16")))
        let enrolToken = try EnrolmentToken(parsing: try await admin.createToken(team: "enrol", CreateTokenRequest(reusable: true)).token)
        let team = "bench"
        _ = try await admin.createTeam(CreateTeamRequest(name: team, prefix: IPv4Prefix("100.64.0.0/16")))
        let token = try EnrolmentToken(parsing: try await admin.createToken(team: team, CreateTokenRequest(reusable: true)).token)
        let wire = SealedHTTP(http: http, endpoint: token.endpoints.first ?? child.endpoint)
        let stats = StatsProbe(http: http, socketPath: child.socketPath)
        let hasStats = await stats.get() != nil
        progress(hasStats ? "parked polls counted with GET /v1/stats on the admin socket"
                          : "no /v1/stats on the admin socket: waiting a fixed time for polls to park")
        var nodes: [SimNode] = []

        // 1. Enrolment throughput (each reply opened and decoded, as a node would).
        progress("enrolment: \(enrolments) nodes into an empty team, \(concurrency) in flight")
        let t0 = ContinuousClock.now
        let first = try await enrol(count: enrolments, from: 0, token: enrolToken, wire: wire, inFlight: concurrency, decode: true)
        let elapsed = (ContinuousClock.now - t0).seconds
        let lat = first.latencies.sorted()
        let enrolment = Enrolment(
            count: enrolments, inFlight: concurrency, seconds: elapsed, perSecond: Double(first.nodes.count) / elapsed,
            p50Ms: lat.percentile(0.5) * 1000, p99Ms: lat.percentile(0.99) * 1000, maxMs: (lat.last ?? 0) * 1000,
            failures: first.failures, oversizeReplies: first.oversize,
            meanReplyBytes: first.replyBytes.isEmpty ? 0 : Double(first.replyBytes.reduce(0, +)) / Double(first.replyBytes.count),
            lastReplyBytes: first.lastReplyBytes)
        progress(String(format: "  %.1f enrolments/s; p50 %.1f ms, p99 %.1f ms; %d failed; %d replies over %d B",
                        enrolment.perSecond, enrolment.p50Ms, enrolment.p99Ms, enrolment.failures, enrolment.oversizeReplies, Envelope.maxSize))
        if first.failures > 0 { progress("  first failure: \(first.firstError ?? "?")") }

        // 2. For each size: grow the team, park N long polls, make one change, time the wake-ups.
        var growth: [Growth] = [], fanOuts: [FanOut] = [], memory: [Memory] = [], checks: [NodeClientCheck] = []
        var masterToggle = 0
        for n in sizes {
            if nodes.count < n {
                let from = nodes.count
                progress("growing the team from \(from) to \(n) members (\(growConcurrency) in flight)")
                let g0 = ContinuousClock.now
                let grown = try await enrol(count: n - from, from: from, token: token, wire: wire, inFlight: growConcurrency, decode: false)
                let secs = (ContinuousClock.now - g0).seconds
                nodes += grown.nodes
                guard nodes.count >= n else {
                    throw BenchError("could not grow the team to \(n): \(grown.failures) enrolments failed (\(grown.firstError ?? "?"))")
                }
                growth.append(Growth(from: from, to: nodes.count, seconds: secs, perSecond: Double(grown.nodes.count) / secs,
                                     tailPerSecond: grown.tailRate, failures: grown.failures, lastReplyBytes: grown.lastReplyBytes))
                progress(String(format: "  %.1f s, %.1f enrolments/s (%.1f/s at the end), last reply %d B", secs, Double(grown.nodes.count) / secs, grown.tailRate, grown.lastReplyBytes))
            }
            try await Task.sleep(for: .milliseconds(300))
            let idle = child.memory()
            let pollers = Array(nodes.prefix(n))
            var parkedMem = idle

            for change in ["ros-master", "enrol-one"] {
                guard let info = try await admin.listTeams().first(where: { $0.name == team }) else { throw BenchError("team vanished") }
                let revision = info.revision
                progress("N=\(n) [\(change)]: parking \(n) long polls at revision \(revision)")
                let p0 = ContinuousClock.now
                let overflows0 = listenOverflows()
                var tasks: [Task<PollOutcome, Never>] = []
                tasks.reserveCapacity(n)
                var opened = 0
                while opened < n {
                    let batch = min(pollBatch, n - opened)
                    for p in pollers[opened..<(opened + batch)] {
                        let w = wait
                        tasks.append(Task { await longPoll(p, since: revision, wait: w, wire: wire) })
                    }
                    opened += batch
                    try await waitParked(opened, stats: hasStats ? stats : nil, batch: batch, tasks: tasks)
                }
                let parkSecs = (ContinuousClock.now - p0).seconds
                try await Task.sleep(for: .milliseconds(200))
                let mem = child.memory()
                parkedMem = mem
                let fds = child.openFDs()
                let overflows = listenOverflows() - overflows0
                let early = tasks.count - (hasStats ? ((await stats.get())?.waitingPolls ?? tasks.count) : tasks.count)
                progress(String(format: "  parked in %.1f s; coordinator RSS %.1f MiB (peak %.1f), %d fds, %d listen-queue overflows%@", parkSecs,
                                Double(mem.rssKiB) / 1024, Double(mem.hwmKiB) / 1024, fds, overflows, early > 0 ? "; \(early) not parked" : ""))

                // One change.
                let cpu0 = child.cpuSeconds()
                let expect: Expectation
                let start: ContinuousClock.Instant
                let commitMs: Double
                if change == "ros-master" {
                    masterToggle ^= 1
                    let name = nodes[masterToggle].name
                    expect = .rosMaster(name)
                    start = .now
                    _ = try await admin.setRosMaster(team: team, name: name)
                    commitMs = (ContinuousClock.now - start).seconds * 1000
                } else {
                    let node = SimNode(name: "x\(nodes.count)", coordinatorKey: token.coordinatorKey)
                    expect = .added(node.key.publicKey)
                    start = .now
                    let (sealed, reply) = try await wire.call(.enroll, EnrollRequest(token: token, name: node.name, endpoints: [Endpoint("192.0.2.1:51820")!], listenPort: 51820), as: node, timeout: .seconds(60))
                    commitMs = (ContinuousClock.now - start).seconds * 1000
                    guard reply.status == 200, isSealedSuccess(reply.body, node: node, nonce: sealed.nonce) else {
                        throw BenchError("the one-member change (enrolment of \(node.name)) failed: HTTP \(reply.status)")
                    }
                    nodes.append(node)
                }
                var outcomes: [PollOutcome] = []
                outcomes.reserveCapacity(n)
                for t in tasks { outcomes.append(await t.value) }
                let cpu = child.cpuSeconds() - cpu0
                let f = analyse(outcomes, change: change, members: n, since: revision, expect: expect, start: start, commitMs: commitMs,
                                parkSeconds: parkSecs, cpu: cpu, mem: mem, fds: fds, requestBytes: outcomes.first?.requestBytes ?? 0, overflows: overflows)
                progress(String(format: "  woke %d: first %.1f ms, median %.1f ms, p99 %.1f ms, last %.1f ms (%.1f us/member); %d ok, %d failed; %.0f B body + %.0f B headers per member; coordinator CPU %.2f s",
                                n, f.firstMs, f.medianMs, f.p99Ms, f.lastMs, f.perMemberMicros, f.ok, f.failures, f.meanReplyBodyBytes, f.meanReplyHeaderBytes, f.coordinatorCPUSeconds))
                if f.failures > 0 { progress("  failures: \(f.failureKinds)") }
                fanOuts.append(f)
            }
            // What the real client library makes of a team this size (after the rounds: it adds a member).
            let fresh = SimNode(name: "nc\(nodes.count)", coordinatorKey: token.coordinatorKey)
            let check = await nodeClientCheck(members: nodes.count, token: token, fresh: fresh, member: pollers[0], http: http)
            checks.append(check)
            progress("  NodeClient at \(check.members) members: enrol \(check.enrol); map(since: 0) \(check.fullMap)")
            // A refused reply may still have been committed: count the team to know.
            if try await admin.listTeams().first(where: { $0.name == team })?.members == nodes.count + 1 { nodes.append(fresh) }
            memory.append(Memory(members: n, idleRSSMiB: Double(idle.rssKiB) / 1024, parkedRSSMiB: Double(parkedMem.rssKiB) / 1024, hwmMiB: Double(child.memory().hwmKiB) / 1024))
        }
        var shutdown: Shutdown?
        if shutdownCheck > 0 {
            let k = min(shutdownCheck, nodes.count)
            let revision = try await admin.listTeams().first(where: { $0.name == team })!.revision
            progress("shutdown: parking \(k) long polls (waitSeconds 20), then SIGTERM to the coordinator")
            var tasks: [Task<PollOutcome, Never>] = []
            for p in nodes.prefix(k) { tasks.append(Task { await longPoll(p, since: revision, wait: 20, wire: wire) }) }
            try await waitParked(k, stats: hasStats ? stats : nil, batch: k, tasks: tasks)
            let t = ContinuousClock.now
            kill(child.pid, SIGTERM)
            var exit: Double?
            while ContinuousClock.now - t < .seconds(40) {
                if !child.process.isRunning { exit = (ContinuousClock.now - t).seconds; break }
                try await Task.sleep(for: .milliseconds(10))
            }
            var answered = 0, failed = 0, lastEnd = 0.0
            for task in tasks {
                let o = await task.value
                if o.error == nil { answered += 1 } else { failed += 1 }
                lastEnd = max(lastEnd, ((o.arrived ?? .now) - t).seconds)
            }
            shutdown = Shutdown(parkedPolls: k, pollWaitSeconds: 20, exitSeconds: exit, pollsAnswered: answered, pollsFailed: failed, lastPollEndSeconds: lastEnd)
            progress("  exited after \(exit.map { String(format: "%.2f s", $0) } ?? "more than 40 s"); \(answered) polls answered, \(failed) failed")
        }
        return Results(cores: System.coreCount, enrolment: enrolment, growth: growth, fanOut: fanOuts, memory: memory, nodeClient: checks, shutdown: shutdown,
                       parkDetection: hasStats ? "GET /v1/stats waitingPolls" : "fixed sleep")
    }

    /// Waits until `opened` polls are parked in the coordinator (or, without the stats endpoint, a fixed time).
    func waitParked(_ opened: Int, stats: StatsProbe?, batch: Int, tasks: [Task<PollOutcome, Never>]) async throws {
        guard let stats else {
            try await Task.sleep(for: .milliseconds(1000 + batch / 2))
            return
        }
        let start = ContinuousClock.now
        var last = 0
        while ContinuousClock.now - start < .seconds(60) {
            if let s = await stats.get() {
                last = s.waitingPolls
                if last >= opened { return }
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw BenchError("only \(last) of \(opened) long polls parked after 60 s")
    }

    enum Expectation {
        case rosMaster(String)
        case added(PublicKey)
    }

    func analyse(_ outcomes: [PollOutcome], change: String, members n: Int, since: UInt64, expect: Expectation, start: ContinuousClock.Instant,
                 commitMs: Double, parkSeconds: Double, cpu: Double, mem: (rssKiB: Int, hwmKiB: Int), fds: Int, requestBytes: Int, overflows: Int) -> FanOut {
        var kinds: [String: Int] = [:]
        var wake: [Double] = []
        var bodies = 0, headers = 0, ok = 0
        for o in outcomes {
            if let a = o.arrived { wake.append((a - start).seconds) }
            bodies += o.bodyBytes
            headers += o.headerBytes
            let problem: String?
            if let e = o.error {
                problem = e
            } else if let a = o.arrived, a < start {
                problem = "replied before the change"
            } else if let u = o.update {
                if u.full { problem = "full map instead of a delta" }
                else if u.revision != since + 1 { problem = "revision \(u.revision), expected \(since + 1)" }
                else {
                    switch expect {
                    case .rosMaster(let name):
                        problem = u.team.rosMaster == name && u.added.isEmpty && u.updated.isEmpty && u.removed.isEmpty ? nil : "delta without the ROS master change"
                    case .added(let key):
                        problem = u.added.map(\.publicKey) == [key] && u.updated.isEmpty && u.removed.isEmpty ? nil : "delta without the one added member"
                    }
                }
            } else {
                problem = "no update"
            }
            if let p = problem { kinds[p, default: 0] += 1 } else { ok += 1 }
        }
        wake.sort()
        let count = Double(max(1, outcomes.count))
        return FanOut(
            change: change, members: n, parkSeconds: parkSeconds, commitMs: commitMs,
            firstMs: (wake.first ?? .nan) * 1000, medianMs: wake.percentile(0.5) * 1000, p99Ms: wake.percentile(0.99) * 1000, lastMs: (wake.last ?? .nan) * 1000,
            perMemberMicros: (wake.last ?? .nan) * 1e6 / Double(n),
            ok: ok, failures: n - ok, failureKinds: kinds,
            meanReplyBodyBytes: Double(bodies) / count, meanReplyHeaderBytes: Double(headers) / count, requestBytes: requestBytes,
            coordinatorCPUSeconds: cpu, rssMiB: Double(mem.rssKiB) / 1024, hwmMiB: Double(mem.hwmKiB) / 1024, coordinatorFDs: fds,
            listenOverflows: overflows)
    }

    /// A real NodeClient enrols one more node, and an enrolled member asks for the full map.
    func nodeClientCheck(members n: Int, token: EnrolmentToken, fresh node: SimNode, member: SimNode, http: HTTPClient) async -> NodeClientCheck {
        let fresh = NodeClient(token: token, privateKey: node.key)
        let enrol: String
        do {
            let r = try await fresh.enroll(token: token, name: node.name, endpoints: [Endpoint("192.0.2.1:51820")!], listenPort: 51820)
            enrol = "ok (map of \(r.map.members?.count ?? 0))"
        } catch {
            enrol = "FAILED: \(error)"
        }
        let full: String
        do {
            let u = try await NodeClient(token: token, privateKey: member.key).map(since: 0, wait: 0)
            full = "ok (\(u.members?.count ?? 0) members)"
        } catch {
            full = "FAILED: \(error)"
        }
        return NodeClientCheck(members: n, enrol: enrol, fullMap: full)
    }

    struct Enrolled {
        var nodes: [SimNode] = []
        var latencies: [Double] = []
        var replyBytes: [Int] = []
        var failures = 0
        var oversize = 0
        var firstError: String?
        var lastReplyBytes = 0
        var tailRate = 0.0
    }

    /// Enrols `count` nodes named m<i> with `inFlight` requests outstanding. With `decode` every
    /// reply is opened and decoded as NodeClient would; without, it is opened and checked to be a
    /// success (decoding a full map per enrolment would cost the benchmark O(N) per node).
    func enrol(count: Int, from start: Int, token: EnrolmentToken, wire: SealedHTTP, inFlight: Int, decode: Bool) async throws -> Enrolled {
        struct One: Sendable { var node: SimNode; var latency: Double; var bytes: Int; var error: String?; var done: ContinuousClock.Instant }
        let tail = min(count, max(50, count / 10))
        return await withTaskGroup(of: One.self) { group in
            var out = Enrolled()
            var next = 0
            var doneTimes: [ContinuousClock.Instant] = []
            func add() {
                let i = start + next
                next += 1
                group.addTask {
                    let node = SimNode(name: "m\(i)", coordinatorKey: token.coordinatorKey)
                    let t = ContinuousClock.now
                    do {
                        let (sealed, reply) = try await wire.call(.enroll, EnrollRequest(token: token, name: node.name, endpoints: [Endpoint("192.0.2.1:51820")!], listenPort: 51820),
                                                                  as: node, timeout: .seconds(120))
                        let latency = (reply.arrived - t).seconds
                        var error: String?
                        if reply.status != 200 || reply.contentType != Envelope.contentType {
                            error = "HTTP \(reply.status): \(String(decoding: reply.body.prefix(200), as: UTF8.self))"
                        } else if decode {
                            if case .failure(let e) = openReply(reply.body, as: EnrollReply.self, node: node, nonce: sealed.nonce) { error = e.description }
                        } else if !isSealedSuccess(reply.body, node: node, nonce: sealed.nonce) {
                            error = "reply is not a sealed success"
                        }
                        return One(node: node, latency: latency, bytes: reply.body.count, error: error, done: reply.arrived)
                    } catch {
                        return One(node: node, latency: (ContinuousClock.now - t).seconds, bytes: 0, error: "\(error)", done: .now)
                    }
                }
            }
            for _ in 0..<min(inFlight, count) { add() }
            var lastLog = ContinuousClock.now
            let began = ContinuousClock.now
            while let one = await group.next() {
                if let e = one.error {
                    out.failures += 1
                    if out.firstError == nil { out.firstError = e }
                } else {
                    out.nodes.append(one.node)
                    out.latencies.append(one.latency)
                    out.replyBytes.append(one.bytes)
                    out.lastReplyBytes = one.bytes
                    if one.bytes > Envelope.maxSize { out.oversize += 1 }
                    doneTimes.append(one.done)
                }
                if next < count { add() }
                if ContinuousClock.now - lastLog > .seconds(10) {
                    lastLog = .now
                    let done = out.nodes.count + out.failures
                    progress(String(format: "  %d/%d enrolled (%.1f/s so far), reply now %d B", done, count, Double(done) / (ContinuousClock.now - began).seconds, out.lastReplyBytes))
                }
            }
            if doneTimes.count > tail, let last = doneTimes.last {
                let before = doneTimes[doneTimes.count - 1 - tail]
                out.tailRate = Double(tail) / (last - before).seconds
            } else {
                out.tailRate = Double(out.nodes.count) / (ContinuousClock.now - began).seconds
            }
            return out
        }
    }

    // MARK: output

    func report(_ r: Results) {
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: (try? e.encode(r)) ?? Data(), as: UTF8.self))
            return
        }
        let e = r.enrolment
        print("teamwire coordinator benchmark: real `teamwire coordinator serve` on 127.0.0.1, SQLite synchronous=FULL, \(r.cores) cores shared with the clients")
        print("")
        print(String(format: "Enrolment  %d nodes, %d in flight: %.2f s, %.1f enrolments/s, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d failed",
                     e.count, e.inFlight, e.seconds, e.perSecond, e.p50Ms, e.p99Ms, e.maxMs, e.failures))
        print(String(format: "           replies (full map at enrolment): mean %.0f B, last %d B; %d of %d over Envelope.maxSize (%d B): NodeClient cannot open those",
                     e.meanReplyBytes, e.lastReplyBytes, e.oversizeReplies, e.count, Envelope.maxSize))
        for g in r.growth {
            print(String(format: "Growth     %d -> %d members: %.1f s, %.1f enrolments/s overall, %.1f/s at the end, last reply %d B, %d failed",
                         g.from, g.to, g.seconds, g.perSecond, g.tailPerSecond, g.lastReplyBytes, g.failures))
        }
        print("")
        print("One change with N long polls parked; times from just before the change to each reply's last byte (client side):")
        print("change      members  park_s  commit_ms  first_ms  median_ms   p99_ms  last_ms  us/member  ok/failed    body_B  hdr_B  coord_cpu_s  RSS_MiB    fds  syn_drops")
        for f in r.fanOut {
            print(String(format: "%-10@ %8d  %6.1f  %9.1f  %8.1f  %9.1f  %7.1f  %7.1f  %9.1f  %@  %8.0f  %5.0f  %11.2f  %7.1f  %5d  %9d",
                         f.change as NSString, f.members, f.parkSeconds, f.commitMs, f.firstMs, f.medianMs, f.p99Ms, f.lastMs, f.perMemberMicros,
                         "\(f.ok)/\(f.failures)".padding(toLength: 10, withPad: " ", startingAt: 0) as NSString,
                         f.meanReplyBodyBytes, f.meanReplyHeaderBytes, f.coordinatorCPUSeconds, f.rssMiB, f.coordinatorFDs, f.listenOverflows))
        }
        for f in r.fanOut where f.failures > 0 {
            print("  failures at N=\(f.members) [\(f.change)]: \(f.failureKinds.map { "\($0.key): \($0.value)" }.sorted().joined(separator: ", "))")
        }
        print("")
        print("Coordinator memory (VmRSS from /proc/PID/status):")
        print("members  idle_RSS_MiB  polls_parked_RSS_MiB  peak_VmHWM_MiB")
        for m in r.memory {
            print(String(format: "%7d  %12.1f  %20.1f  %14.1f", m.members, m.idleRSSMiB, m.parkedRSSMiB, m.hwmMiB))
        }
        if let f = r.fanOut.first {
            print("")
            print(String(format: "Bytes per member per change: the sealed reply body above, plus ~%.0f B of HTTP response headers; each poll's request is %d B body + ~%d B headers.",
                         f.meanReplyHeaderBytes, f.requestBytes, SealedHTTP(http: HTTPClient.shared, endpoint: Endpoint("127.0.0.1:65535")!).requestHeaderBytes(.map, bodyBytes: f.requestBytes)))
        }
        print("")
        print("A real NodeClient against the team:")
        for c in r.nodeClient {
            let head = "  \(c.members) members:"
            print("\(head) enrol \(c.enrol)")
            print("\(String(repeating: " ", count: head.count)) map(since: 0) \(c.fullMap)")
        }
        if let d = r.shutdown {
            print("")
            print("SIGTERM with \(d.parkedPolls) long polls parked (waitSeconds \(d.pollWaitSeconds)): coordinator exited after \(d.exitSeconds.map { String(format: "%.2f s", $0) } ?? "more than 40 s (killed)"); polls: \(d.pollsAnswered) answered, \(d.pollsFailed) failed, last ended \(String(format: "%.2f s", d.lastPollEndSeconds)) after the signal")
        }
        print("")
        print("Parked polls detected by: \(r.parkDetection). syn_drops: TcpExtListenOverflows (system-wide) while the polls connected.")
        print("Wake times include the benchmark's own client work (receiving and opening every reply) on the same cores.")
    }
}

/// What one member's long poll returned.
struct PollOutcome: Sendable {
    var arrived: ContinuousClock.Instant?
    var bodyBytes: Int
    var headerBytes: Int
    var requestBytes: Int
    var update: MapUpdate?
    var error: String?
}

/// One member's long poll, as NodeClient.map(since:wait:) sends it.
func longPoll(_ node: SimNode, since: UInt64, wait: Int, wire: SealedHTTP) async -> PollOutcome {
    do {
        let (sealed, reply) = try await wire.call(.map, MapRequest(since: since, waitSeconds: wait), as: node, timeout: .seconds(Int64(wait) + 30))
        var out = PollOutcome(arrived: reply.arrived, bodyBytes: reply.body.count, headerBytes: reply.headerBytes, requestBytes: sealed.bytes.count)
        guard reply.status == 200, reply.contentType == Envelope.contentType else {
            out.error = "HTTP \(reply.status)"
            return out
        }
        switch openReply(reply.body, as: MapUpdate.self, node: node, nonce: sealed.nonce) {
        case .success(let u): out.update = u
        case .failure(let e): out.error = e.description
        }
        return out
    } catch {
        return PollOutcome(arrived: nil, bodyBytes: 0, headerBytes: 0, requestBytes: 0, error: "transport: \(String(describing: error).prefix(80))")
    }
}

/// TcpExtListenOverflows from /proc/net/netstat: connections dropped because a listen queue was full.
func listenOverflows() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/net/netstat", encoding: .utf8) else { return 0 }
    let lines = text.split(separator: "\n")
    for i in 0..<(lines.count - 1) where lines[i].hasPrefix("TcpExt:") && lines[i + 1].hasPrefix("TcpExt:") {
        let names = lines[i].split(separator: " "), values = lines[i + 1].split(separator: " ")
        if let j = names.firstIndex(of: "ListenOverflows"), j < values.count { return Int(values[j]) ?? 0 }
    }
    return 0
}

func progress(_ s: String) {
    FileHandle.standardError.write(Data(("[bench] " + s + "\n").utf8))
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

extension Array where Element == Double {
    /// Nearest-rank percentile of a sorted array.
    func percentile(_ p: Double) -> Double {
        guard !isEmpty else { return .nan }
        let rank = Int((p * Double(count)).rounded(.up))
        return self[Swift.max(0, Swift.min(count - 1, rank - 1))]
    }
}
