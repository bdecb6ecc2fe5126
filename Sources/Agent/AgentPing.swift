import TeamwireCore

extension Agent {
    /// `teamwire ping`: one ICMP echo to a member through the team's interface, with the path it
    /// was sent on (direct to the member's endpoint, or through the hub) as the status has it then.
    public func ping(_ req: PingRequest) async throws -> PingReply {
        if let problem = Names.labelProblem(req.name) { throw APIError(.invalidName, "bad member name \"\(req.name)\": \(problem)") }
        if let team = req.team, let problem = Names.labelProblem(team) { throw APIError(.invalidName, "bad team name \"\(team)\": \(problem)") }
        if let problem = req.numberProblem { throw APIError(.invalidArgument, problem) }
        let target: PingTarget
        switch PingTarget.resolve(await status(), team: req.team, name: req.name) {
        case .success(let t): target = t
        case .failure(let e): throw e
        }
        let size = req.payloadSize ?? PingRequest.payloadRange.lowerBound
        let (rtt, raw, tooBig) = try await IcmpEcho.probe(target.address, interface: target.interface, sequence: UInt16(req.sequence),
                                                          timeout: .milliseconds(req.timeoutMillis), payloadSize: size, dontFragment: req.dontFragment ?? false)
        logger.debug("ping", metadata: ["team": "\(target.team)", "member": "\(target.name)", "path": "\(target.path.rawValue)",
                                        "rtt": "\(rtt.map { "\($0)" } ?? "none")", "socket": "\(raw ? "raw" : "datagram")"])
        return PingReply(team: target.team, name: target.name, address: target.address, interface: target.interface, sequence: req.sequence,
                         path: target.path, endpoint: target.endpoint, rttMicros: rtt.map(Self.micros),
                         payloadSize: req.payloadSize == nil ? nil : size, tooBig: req.dontFragment == true ? tooBig : nil)
    }

    static func micros(_ d: Duration) -> Int64 { d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000 }
}
