import TeamwireCore

extension FuzzHarness {
    /// The bodies `teamwire join`, `leave` and `ping` send to the agent's Unix socket, decoded
    /// as `AgentAPI` decodes them, then the checks `Agent.join`, `Agent.leave` and `Agent.ping`
    /// make before they touch any state: the token, the node name, the team name and its
    /// interface name, a ping's numbers (a sequence that passes becomes a UInt16 without trapping).
    static func agentAPI(_ bytes: [UInt8]) {
        if let join = try? AgentRequestBody.decode(JoinRequest.self, from: bytes) {
            tokenText(join.token)
            _ = Names.labelProblem(join.name)
            require(try! AgentRequestBody.decode(JoinRequest.self, from: ControlCodec.encodeJSON(join)) == join, "a join request does not survive its own encoding")
        }
        if let leave = try? AgentRequestBody.decode(LeaveRequest.self, from: bytes) {
            if Names.labelProblem(leave.team) == nil {
                let name = teamInterfaceName(leave.team)
                require(name.utf8.count <= 15 && name.hasPrefix("tw-"), "team \(leave.team) gets interface name \(name)")
            }
            require(try! AgentRequestBody.decode(LeaveRequest.self, from: ControlCodec.encodeJSON(leave)) == leave, "a leave request does not survive its own encoding")
        }
        if let ping = try? AgentRequestBody.decode(PingRequest.self, from: bytes) {
            _ = Names.labelProblem(ping.name)
            if let team = ping.team { _ = Names.labelProblem(team) }
            if ping.numberProblem == nil {
                require(UInt16(exactly: ping.sequence) != nil, "ping sequence \(ping.sequence) passes the checks but is no UInt16")
                require(ping.timeoutMillis > 0 && ping.timeoutMillis <= 60_000, "ping timeout \(ping.timeoutMillis) ms passes the checks")
            }
            require(try! AgentRequestBody.decode(PingRequest.self, from: ControlCodec.encodeJSON(ping)) == ping, "a ping request does not survive its own encoding")
        }
    }
}
