import Agent
import ArgumentParser
import Foundation
import TeamwireCore

/// `teamwire join`: hands the token to the running agent, then follows the team coming up.
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Join a team with an enrolment token (the agent must be running: `sudo teamwire agent`).",
        discussion: """
            Prints its progress: enrolling, interface up, then how many members answer. Waits up to
            --wait seconds for every member to be reachable; the node stays joined either way.
            Joining the same team again with the same name is harmless.
            """
    )

    @OptionGroup var options: NodeOptions

    @Argument(help: "The enrolment token (twt1-...), or - to read it from standard input (keeps it out of shell history).")
    var token: String

    @Option(help: "This node's name in the team (default: the host name).")
    var name: String?

    @Option(help: "Seconds to wait for every member to become reachable (0: don't wait).")
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
        let parsed: EnrollmentToken
        do { parsed = try EnrollmentToken(parsing: text) } catch { throw CLIError("bad token: \(error.message)") }
        let nodeName = name ?? Self.hostName()
        let client = options.client
        let started = ContinuousClock.now
        say("enrolling \(nodeName) in team \(parsed.team) at \(parsed.endpoints.map(\.description).joined(separator: ", "))")
        var st: TeamStatus
        do { st = try await client.join(JoinRequest(token: text, name: nodeName)) } catch { throw CLIError("\(error)") }
        say("interface \(st.interface) up: \(st.address)/\(st.prefix.length) (\(st.backend), port \(st.listenPort))")
        var last = -1
        let deadline = started + .milliseconds(Int(wait * 1000))
        while true {
            let n = st.members.count
            if st.reachableCount != last {
                last = st.reachableCount
                say("members reachable \(last)/\(n)")
            }
            if last == n || ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(100))
            do {
                guard let fresh = try await client.status().teams.first(where: { $0.team == st.team }) else {
                    throw CLIError("the agent dropped team \(st.team) while joining (see its log)")
                }
                st = fresh
            } catch let e as CLIError { throw e } catch { throw CLIError("\(error)") }
        }
        if json { Output.json(st); return }
        let took = ContinuousClock.now - started
        let secs = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        if st.reachableCount == st.members.count {
            say("joined team \(st.team) as \(st.name) in \(String(format: "%.1f", secs)) s")
        } else {
            let missing = st.members.filter { !$0.reachable }.map(\.name).joined(separator: ", ")
            say("joined team \(st.team) as \(st.name); not reachable yet: \(missing) (see `teamwire status`)")
        }
    }

    private func say(_ line: String) {
        if !json { print(line) }
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
