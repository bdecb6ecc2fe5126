import AgentClient
import ArgumentParser
import Foundation
import TeamwireCore

/// `teamwire ping NAME`: probes a member through the overlay, saying for each probe the path
/// it took (direct, or via the hub) and the round trip.
struct PingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ping",
        abstract: "Ping a member through the overlay: for each probe, direct or via the hub (and where to), and the round-trip time.",
        discussion: """
            The agent sends an ICMP echo to the member's overlay address out of the team's \
            interface, one a second; every member's kernel answers it. Each line gives the path \
            the probe was sent on: direct to the member's endpoint, or via the hub (the hub's \
            endpoint), as `teamwire status` shows it at that moment. Exits 0 if any probe was \
            answered, 1 if none was or the name is unknown (the error lists the members). \
            Ctrl-C stops early and prints the summary.
            """
    )

    @OptionGroup var options: NodeOptions

    @Argument(help: "The member's name, as `teamwire status` lists it.")
    var name: String

    @Option(help: ArgumentHelp("The team (needed only when several joined teams have a member of that name).", valueName: "team"))
    var team: String?

    @Option(name: [.customShort("c"), .long], help: ArgumentHelp("How many probes to send (1...10000).", valueName: "n"))
    var count: Int = 4

    @Option(help: ArgumentHelp("Seconds to wait for each answer (0.1...10).", valueName: "seconds"))
    var timeout: Double = 2

    @Option(name: [.customShort("s"), .long], help: ArgumentHelp("Bytes of ICMP payload (24...9000; the IP packet is 28 more).", valueName: "bytes"))
    var size: Int?

    @Flag(help: "Set DF (don't fragment): a probe larger than the path MTU is refused or lost instead of fragmented.")
    var dontFragment = false

    func validate() throws {
        guard (1...10_000).contains(count) else { throw ValidationError("--count must be 1...10000") }
        guard timeout.isFinite, (0.1...10).contains(timeout) else { throw ValidationError("--timeout must be 0.1...10 seconds") }
        if let size, !PingRequest.payloadRange.contains(size) { throw ValidationError("--size must be 24...9000") }
    }

    func run() async throws {
        let client = options.client
        let (name, team, count, size, df) = (name, team, count, size, dontFragment ? true : nil)
        let timeoutMillis = Int((timeout * 1000).rounded())
        let tally = Tally()
        // Ctrl-C ends the probing; the summary still comes.
        let finished: Void? = try await interruptible {
            for i in 0..<count {
                let sent = ContinuousClock.now
                let reply: PingReply
                do {
                    reply = try await client.ping(PingRequest(team: team, name: name, sequence: (i + 1) % 65536, timeoutMillis: timeoutMillis,
                                                         payloadSize: size, dontFragment: df))
                } catch let e as AgentError {
                    throw CLIError(e.description)
                }
                print(Self.line(reply, timeoutMillis: timeoutMillis))
                await tally.add(reply)
                if i + 1 < count {
                    let next = sent + .seconds(1)
                    if next > ContinuousClock.now { try await Task.sleep(until: next) }
                }
            }
        }
        // Nothing answered before Ctrl-C: no summary to give, and no answer either.
        guard let summary = await tally.summary else { throw ExitCode(finished == nil ? 130 : 1) }
        print(summary)
        if await tally.answered == 0 { throw ExitCode(1) }
    }

    /// "reply from robot2 (100.64.0.3): seq=1 time=1.23 ms, direct to 192.0.2.12:51820"
    static func line(_ r: PingReply, timeoutMillis: Int) -> String {
        let path = switch r.path {
        case .direct: "direct to " + (r.endpoint?.description ?? "the member (endpoint not known yet)")
        case .relay: "via the hub" + (r.endpoint.map { " at \($0)" } ?? "")
        }
        if r.tooBig == true {
            return "not sent to \(r.name) (\(r.address)): seq=\(r.sequence) \((r.payloadSize ?? 0) + 28) bytes with DF is larger than the path MTU this host knows (\(r.interface))"
        }
        guard let us = r.rttMicros else {
            return "no reply from \(r.name) (\(r.address)): seq=\(r.sequence) within \(Double(timeoutMillis) / 1000) s, sent \(path)"
        }
        return "reply from \(r.name) (\(r.address)): seq=\(r.sequence) time=\(millis(us)) ms, \(path)"
    }

    static func millis(_ us: Int64) -> String { String(format: "%.2f", Double(us) / 1000) }

    /// What was sent and answered, for the summary line.
    actor Tally {
        var sent = 0
        var answered = 0
        var times: [Int64] = []
        var target: String?

        func add(_ r: PingReply) {
            sent += 1
            target = "\(r.name) (\(r.address)) in team \(r.team)"
            if let us = r.rttMicros {
                answered += 1
                times.append(us)
            }
        }

        /// "--- robot2 (100.64.0.3) in team iris: 4 probes, 4 answered, 0% lost; time min/avg/max 0.91/1.20/1.73 ms"
        var summary: String? {
            guard let target, sent > 0 else { return nil }
            var s = "--- \(target): \(sent) probe\(sent == 1 ? "" : "s"), \(answered) answered, \(100 * (sent - answered) / sent)% lost"
            if let lo = times.min(), let hi = times.max() {
                s += "; time min/avg/max \(PingCommand.millis(lo))/\(PingCommand.millis(times.reduce(0, +) / Int64(times.count)))/\(PingCommand.millis(hi)) ms"
            }
            return s
        }
    }
}
