import AgentClient
import ArgumentParser
import Foundation
import TeamwireCore

/// `teamwire join`: hands the token to the running agent, waits for the coordinator while it
/// cannot be reached, then follows the team coming up.
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a team with an enrolment token (the agent must be running: `sudo teamwire agent`).",
        discussion: """
            Prints its progress: enrolling, interface up, then how many members answer.

            While the coordinator cannot be reached (down, restarting, no network yet) it asks again \
            with a growing delay and says so on standard error at every attempt, until the \
            coordinator answers or --wait seconds have passed since the start; then it says why it \
            gave up and exits 1. A join that gave up or was interrupted (Ctrl-C) leaves nothing \
            behind, except the node's key when the coordinator may have enrolled it: running the \
            same command again then finishes that enrolment without spending another use of the token.

            Once enrolled it waits, within the same --wait seconds, for every member to be \
            reachable; the node stays joined either way (Ctrl-C stops the wait only). \
            Joining the same team again with the same name is harmless.
            """
    )

    @OptionGroup var options: NodeOptions

    @Argument(help: "The enrolment token (twt1-...), or - to read it from standard input (keeps it out of shell history).")
    var token: String

    @Option(help: "This node's name in the team (default: the host name).")
    var name: String?

    @Option(help: ArgumentHelp("Seconds to wait in all: for the coordinator to answer, then for every member to become reachable (0: ask once, don't wait).",
                               valueName: "seconds"))
    var wait: Double = 15

    @Flag(help: "Print the team's status as JSON when done instead of progress lines.")
    var json = false

    func validate() throws {
        // A Double from the command line: inf, nan or 1e300 must not reach Int(...).
        guard wait.isFinite, (0...3600).contains(wait) else { throw ValidationError("--wait must be 0...3600 seconds") }
    }

    func run() async throws {
        var text = token
        if text == "-" { text = readLine(strippingNewline: true) ?? "" }
        text = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // Parse here too, so a mistyped token fails before any agent is involved.
        let parsed: EnrolmentToken
        do { parsed = try EnrolmentToken(parsing: text) } catch { throw CLIError("bad token: \(error.message)") }
        let nodeName = name ?? Self.hostName()
        let client = options.client
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int(wait * 1000))
        say("enrolling \(nodeName) in team \(parsed.team) at \(parsed.endpoints.map(\.description).joined(separator: ", "))")
        let request = JoinRequest(token: text, name: nodeName)
        let waitSeconds = wait
        guard let joined = try await interruptible({ try await Self.enrol(client, request, started: started, deadline: deadline, wait: waitSeconds) }) else {
            throw interrupted("interrupted: not joined to team \(parsed.team) (the same `teamwire join` picks up where this one stopped)")
        }
        say("interface \(joined.interface) up: \(joined.address)/\(joined.prefix.length) (\(joined.backend), port \(joined.listenPort))")
        // Ctrl-C here only ends the wait: the node is joined.
        let quiet = json
        let st = try await interruptible({ try await Self.waitForMembers(client, joined, deadline: deadline, quiet: quiet) }) ?? joined
        if json { Output.json(st); return }
        let took = ContinuousClock.now - started
        if st.reachableCount == st.members.count {
            say("joined team \(st.team) as \(st.name) in \(String(format: "%.1f", Self.seconds(took))) s")
        } else {
            let missing = st.members.filter { !$0.reachable }.map(\.name).joined(separator: ", ")
            say("joined team \(st.team) as \(st.name); not reachable yet: \(missing) (see `teamwire status`)")
        }
    }

    /// Asks the agent to enrol until the coordinator gives an answer or the deadline passes. Each
    /// attempt is one request, so that every wait is said on standard error as it starts.
    static func enrol(_ client: AgentClient, _ request: JoinRequest, started: ContinuousClock.Instant, deadline: ContinuousClock.Instant,
                      wait: Double) async throws -> TeamStatus {
        var backoff = RetryBackoff()
        while true {
            do {
                return try await client.join(request)
            } catch let e as AgentError where e.code == .coordinatorUnreachable || e.code == .coordinatorNoAnswer {
                let now = ContinuousClock.now
                // It had the request: it is there, most likely restarting; ask again soon.
                if e.code == .coordinatorNoAnswer { backoff.alive(at: seconds(now - started)) }
                let left = deadline - now
                guard left > .zero else {
                    let stopped = wait == 0 ? "not asked again (--wait 0)" : "gave up after \(Self.text(now - started))"
                    throw CLIError(e.code == .coordinatorNoAnswer
                        ? "\(e.description); \(stopped): its key is kept, run the same `teamwire join` again to finish"
                        : "\(e.description); \(stopped), nothing was changed")
                }
                let delay = min(Duration.milliseconds(Int64(backoff.delay(now: seconds(now - started), jitter: Double.random(in: 0..<1)) * 1000)), left)
                stderrLine("\(e.description); asking again in \(Self.text(delay)) (gives up in \(Self.text(left)))")
                try await Task.sleep(for: delay)
            } catch let e as AgentError {
                throw CLIError(e.description)
            }
        }
    }

    /// Follows the team's status until every member is reachable or the deadline passes.
    static func waitForMembers(_ client: AgentClient, _ joined: TeamStatus, deadline: ContinuousClock.Instant,
                               quiet: Bool) async throws -> TeamStatus {
        var st = joined
        var last = -1
        while true {
            if st.reachableCount != last {
                last = st.reachableCount
                if !quiet {
                    print("members reachable \(last)/\(st.members.count)")
                    fflush(nil)
                }
            }
            if last == st.members.count || ContinuousClock.now >= deadline { return st }
            try await Task.sleep(for: .milliseconds(100))
            do {
                guard let fresh = try await client.status().teams.first(where: { $0.team == st.team }) else {
                    throw CLIError("the agent dropped team \(st.team) while joining (see its log)")
                }
                st = fresh
            } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
        }
    }

    private func say(_ line: String) {
        guard !json else { return }
        print(line)
        fflush(nil)  // in order with the waits on standard error, also into a file or a journal
    }

    static func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

    /// "0.6 s", "13 s", "1m50s": a wait as people read it.
    static func text(_ d: Duration) -> String {
        let s = seconds(d)
        let tenths = (s * 10).rounded() / 10
        if tenths < 2, tenths != tenths.rounded() { return String(format: "%.1f s", tenths) }
        let whole = Int(s.rounded())
        return whole < 60 ? "\(whole) s" : "\(whole / 60)m" + (whole % 60 == 0 ? "" : "\(whole % 60)s")
    }

    static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count)
        let h = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return String(h.split(separator: ".").first ?? "node").lowercased()
    }
}

/// `teamwire status`: every joined team, every member's path, endpoint, handshake and traffic.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every joined team: members, their path (direct or via hub), endpoint, latest handshake and traffic."
    )

    @OptionGroup var options: NodeOptions

    @Flag(help: "JSON output (the agent's status document).")
    var json = false

    func run() async throws {
        let status: AgentStatus
        do { status = try await options.client.status() } catch { throw CLIError("\(error)") }
        if json { Output.json(status); return }
        if status.teams.isEmpty {
            print("not joined to any team (teamwire join TOKEN)")
            return
        }
        for (i, t) in status.teams.enumerated() {
            if i > 0 { print("") }
            print("team \(t.team): \(t.name) \(t.address)/\(t.prefix.length) on \(t.interface) (\(t.backend), port \(t.listenPort)), mode \(t.mode.rawValue), revision \(t.revision)")
            if let err = t.coordinatorError {
                print("coordinator: unreachable, last answer \(Output.ago(t.coordinatorContact)) (\(err)); tunnels stay up")
            } else {
                print("coordinator: last answer \(Output.ago(t.coordinatorContact))")
            }
            print("members reachable: \(t.reachableCount)/\(t.members.count)")
            if let d = t.discoveryServer {
                print("discovery server: \(d.state) on \(d.locator)" + (d.pid.map { ", pid \($0)" } ?? "") + (d.restarts > 0 ? ", \(d.restarts) restart(s)" : "")
                      + (d.error.map { " (\($0))" } ?? ""))
            }
            for group in t.sharedMachineIDs {
                // Robots cloned from one image: Fast DDS 3 takes them for one host (see `teamwire doctor`).
                print("warning: \(group.joined(separator: ", ")) share one machine id, so Fast DDS 3 takes them for one host and their ROS 2 nodes never hear each other; "
                    + "fix: \(MachineID.fix)")
            }
            var rows = [["(hub)", "-", "-", t.hub.endpoint?.description ?? "-", Output.ago(t.hub.latestHandshake),
                         Self.bytes(t.hub.rxBytes), Self.bytes(t.hub.txBytes)]]
            for m in t.members {
                rows.append([m.name + (m.role == .laptop ? " (laptop)" : ""), m.address.description,
                             m.reachable ? m.path.rawValue : m.path.rawValue + " (no answer)",
                             m.peer.endpoint?.description ?? "-", Output.ago(m.peer.latestHandshake),
                             Self.bytes(m.peer.rxBytes), Self.bytes(m.peer.txBytes)])
            }
            Output.table(["NAME", "ADDRESS", "PATH", "ENDPOINT", "HANDSHAKE", "RX", "TX"], rows)
        }
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n), u = 0
        while v >= 1024, u < units.count - 1 { v /= 1024; u += 1 }
        return u == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[u])
    }
}

/// `teamwire leave TEAM`: tells the coordinator, removes the interface and the team's state.
struct LeaveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leave",
        abstract: "Leave a team: the coordinator drops this node, the interface and the team's key are removed."
    )

    @OptionGroup var options: NodeOptions

    @Argument(help: "The team to leave.")
    var team: String

    func run() async throws {
        let r: LeaveReply
        do { r = try await options.client.leave(team) } catch { throw CLIError("\(error)") }
        print("left team \(r.team)")
        if let m = r.message { print("note: \(m)") }
    }
}
