import AgentClient
import ArgumentParser
import Doctor
import Foundation
import RosBridge
import TeamwireCore
import WireGuardControl
#if canImport(Glibc)
import Glibc
#endif

/// `teamwire doctor`: gathers what the findings need (the agent's status, DF probes through the
/// tunnel, the team's ros.env and this shell's environment, the ROS master, the canary) and
/// prints what `Doctor` finds in it.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the overlay and this shell's ROS setup against the team's, and say what to fix.",
        discussion: """
            Checks: the agent and the team's interface; each member's path (direct or via the \
            hub), its last handshake, and the path MTU through the tunnel (ICMP echoes with DF \
            at the interface MTU, then smaller); this shell's ROS_DOMAIN_ID, RMW_IMPLEMENTATION, \
            ROS_AUTOMATIC_DISCOVERY_RANGE and DDS profile variables against the team's ros.env; \
            the ROS 1 master (a TCP connect to port 11311); members that share a machine id \
            (robots cloned from one image, which Fast DDS 3 takes for one host). With --canary, \
            one datagram to every member's agent and back, with its round-trip time.

            Each finding is one sentence at level ok, warning or problem, with the fix. \
            Exit status: 0 when nothing is a problem (warnings allowed), 1 when something is.
            """
    )

    @OptionGroup var options: RosTeamOptions

    @Flag(help: "Also send one message to every member's agent over the overlay and report the round-trip time.")
    var canary = false

    @Flag(help: "Print the findings as a JSON array of {check, level, member, message, fix}.")
    var json = false

    func run() async throws {
        let input = await gather()
        let findings = Doctor.findings(input)
        if json {
            Output.json(findings)
        } else {
            if let t = input.team { print("teamwire doctor: team \(t.team), \(t.name) (\(t.address))") }
            for f in findings { print(f.text) }
            let problems = findings.filter { $0.level == .problem }.count, warnings = findings.filter { $0.level == .warning }.count
            print("\(problems) problem\(problems == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
        }
        if findings.exitStatus != 0 { throw ExitCode(findings.exitStatus) }
    }

    func gather() async -> DoctorInput {
        var input = DoctorInput(nowMillis: Int64(Date().timeIntervalSince1970 * 1000), environment: ProcessInfo.processInfo.environment)
        let client = AgentClient(stateDirectory: options.state)
        do {
            let status = try await client.status()
            let teams = options.team.map { t in status.teams.filter { $0.team == t } } ?? status.teams
            if teams.count == 1 {
                input.team = teams[0]
            } else if teams.isEmpty {
                input.agentProblem = options.team.map { "this node is not in team \($0)" + (status.teams.isEmpty ? "" : " (joined: \(status.teams.map(\.team).joined(separator: ", ")))") }
                    ?? "this node has not joined any team"
            } else {
                input.agentProblem = "this node is in several teams (\(teams.map(\.team).joined(separator: ", "))): pass --team TEAM"
            }
        } catch {
            input.agentProblem = "\(error)"
        }
        var rosOptions = options
        if let t = input.team { rosOptions.team = t.team }
        do {
            let path = try rosOptions.envFile()
            input.teamEnvironmentPath = path
            input.teamName = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            let text = try String(contentsOfFile: path, encoding: .utf8)
            input.teamEnvironment = Dictionary(try RosEnvironment.parse(text).map { ($0.name, $0.value) }, uniquingKeysWith: { _, b in b })
        } catch {
            input.teamEnvironmentProblem = "\(error)"
        }
        for v in ["CYCLONEDDS_URI", "FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"] {
            guard let mine = input.environment[v], mine != input.teamEnvironment?[v] else { continue }
            for case .file(let path) in Doctor.profileSources(v, mine) {
                input.otherProfiles[path] = try? String(contentsOfFile: path, encoding: .utf8)
            }
        }
        if let uri = input.teamEnvironment?["ROS_MASTER_URI"], let (host, port) = Self.hostPort(uri) {
            input.rosMasterReachable = Self.tcpConnects(host, port: port, timeoutMillis: 1500)
        }
        guard let team = input.team else { return input }
        (input.interfaceUp, input.interfaceMTU) = Self.interfaceState(team.interface)
        if input.interfaceUp == true, let mtu = input.interfaceMTU {
            input.pathMTU = await Self.probePathMTU(client, team: team, mtu: mtu)
        }
        if canary, input.interfaceUp == true {
            input.canary = Self.sendCanary(from: team.address, to: team.members.map { ($0.name, $0.address) })
        }
        return input
    }

    // MARK: the interface

    /// Whether the interface exists and is up, and its MTU, from rtnetlink (this network
    /// namespace's view; /sys may show another's).
    static func interfaceState(_ name: String) -> (up: Bool, mtu: Int?) {
        guard let d = try? Link.describe(name) else { return (false, nil) }
        return (d.isUp, Int(d.mtu))
    }

    // MARK: path MTU

    /// DF probes to the reachable members, four at a time (a caller other than root may hold
    /// 8 agent connections), each member's sizes in turn (`MTUSearch`).
    static func probePathMTU(_ client: AgentClient, team: TeamStatus, mtu: Int) async -> [String: PathMTU] {
        let full = min(mtu, PingRequest.payloadRange.upperBound + MTUSearch.overhead)
        return await withTaskGroup(of: (String, PathMTU)?.self) { group in
            var out: [String: PathMTU] = [:]
            var running = 0
            for (n, m) in team.members.enumerated() where m.reachable {
                if running == 4, let done = await group.next() {
                    running -= 1
                    if let (name, p) = done { out[name] = p }
                }
                running += 1
                group.addTask {
                    var search = MTUSearch(full: full)
                    var seq = (n * 64) % 65536
                    while let size = search.next {
                        // A size fails only when two probes in a row got no answer: one lost
                        // packet must not read as a smaller path MTU.
                        var passed = false
                        for _ in 0..<2 where !passed {
                            seq = (seq + 1) % 65536
                            let r = try? await client.ping(PingRequest(team: team.team, name: m.name, sequence: seq, timeoutMillis: 1000,
                                                                       payloadSize: size - MTUSearch.overhead, dontFragment: true))
                            guard let r else { return nil }
                            passed = r.rttMicros != nil
                            if r.tooBig == true { break }
                        }
                        search.record(size, passed: passed)
                    }
                    return (m.name, search.result)
                }
            }
            for await case let (name, p)? in group { out[name] = p }
            return out
        }
    }

    // MARK: the ROS master

    static func hostPort(_ uri: String) -> (String, UInt16)? {
        guard let u = URL(string: uri), let host = u.host else { return nil }
        return (host, UInt16(exactly: u.port ?? RosEnvironment.rosMasterPort) ?? 11311)
    }

    /// Whether a TCP connection to `host`:`port` (an IPv4 address) opens within the timeout.
    static func tcpConnects(_ host: String, port: UInt16, timeoutMillis: Int32) -> Bool {
        guard let a = IPv4Address(host) else { return false }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = port.bigEndian
        to.sin_addr.s_addr = a.value.bigEndian
        let rc = withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, timeoutMillis) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
    }

    // MARK: the canary

    /// One canary to every member's agent (again after 1 s to those that did not answer), from
    /// our overlay address; the round trip in microseconds per member, nil for no answer in 2 s.
    static func sendCanary(from own: IPv4Address, to members: [(String, IPv4Address)]) -> [String: Int64?] {
        var out: [String: Int64?] = Dictionary(uniqueKeysWithValues: members.map { ($0.0, nil) })
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, !members.isEmpty else { return out }
        defer { close(fd) }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = own.value.bigEndian
        guard withUnsafePointer(to: &local, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 else {
            return out
        }
        var pending: [[UInt8]: (name: String, sent: ContinuousClock.Instant)] = [:]
        func send(_ name: String, _ address: IPv4Address) {
            let nonce = (0..<CanaryMessage.nonceLength).map { _ in UInt8.random(in: 0...255) }
            let packet = CanaryMessage.encode(.request, nonce: nonce)
            var to = sockaddr_in()
            to.sin_family = sa_family_t(AF_INET)
            to.sin_port = CanaryMessage.port.bigEndian
            to.sin_addr.s_addr = address.value.bigEndian
            pending[nonce] = (name, ContinuousClock.now)
            _ = packet.withUnsafeBytes { b in
                withUnsafePointer(to: &to) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, b.baseAddress, b.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            }
        }
        for (name, address) in members { send(name, address) }
        let start = ContinuousClock.now
        var resent = false
        var buf = [UInt8](repeating: 0, count: 256)
        while ContinuousClock.now - start < .seconds(2), out.values.contains(where: { $0 == nil }) {
            if !resent, ContinuousClock.now - start >= .seconds(1) {
                resent = true
                for (name, address) in members where out[name]! == nil { send(name, address) }
            }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 50) == 1 else { continue }
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            let arrived = ContinuousClock.now
            guard n > 0, let (kind, nonce) = CanaryMessage.parse(buf[0..<n]), kind == .answer, let sent = pending[nonce] else { continue }
            let d = arrived - sent.sent
            if out[sent.name]! == nil { out[sent.name] = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 }
        }
        return out
    }
}
