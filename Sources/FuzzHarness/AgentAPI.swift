import TeamwireCore

extension FuzzHarness {
    /// The bodies `teamwire join` and `teamwire leave` send to the agent's Unix socket, decoded
    /// as `AgentAPI` decodes them, then the checks `Agent.join` and `Agent.leave` make before they
    /// touch any state: the token, the node name, the team name and its interface name.
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
    }
}
