import Foundation
import TeamwireCore

extension Registry {
    /// `teamwire team set`: the team's ROS 2 discovery, its discovery server member and its RMW
    /// choice. Like set-ros-master, a change bumps the settings revision, so every member's long
    /// poll returns it at once; a request that changes nothing is refused and writes nothing.
    public func setTeamSettings(team: String, _ req: SetTeamSettingsRequest, actor: String) async -> Result<TeamInfo, APIError> {
        let tid: Int64
        do { tid = try requireTeam(team) } catch { return .failure(error) }
        if req.rosDiscovery == nil, req.discoveryServer == nil, req.rmwImplementation == nil {
            return .failure(APIError(.invalidArgument, "nothing to change: give --ros-discovery, --discovery-server or --rmw"))
        }
        // nil: unchanged; .some(nil): cleared ("none").
        let rmw: String??
        if let r = req.rmwImplementation, r != RmwName.none, let problem = RmwName.problem(r) {
            return .failure(APIError(.invalidArgument, "RMW implementation '\(r.prefix(64))' \(problem)"))
        }
        rmw = req.rmwImplementation.map { $0 == RmwName.none ? nil : $0 }
        let now = clock()
        let r = await write { tx -> Result<Void, APIError> in
            guard var settings = self.state.withLock({ $0.teams[tid]?.map.settings }) else {
                return .failure(APIError(.teamNotFound, "no team named '\(team)'"))
            }
            if let name = req.discoveryServer {
                guard self.state.withLock({ $0.teams[tid]?.map.member(named: name) }) != nil else {
                    return .failure(APIError(.nodeNotFound, "team '\(team)' has no node named '\(name.prefix(63))'"))
                }
                settings.discoveryServer = name
            }
            if let d = req.rosDiscovery { settings.rosDiscovery = d }
            if let r = rmw { settings.rmwImplementation = r }
            let rev = try tx.bumpRevision(team: tid)
            try tx.saveSettings(team: tid, settings, at: rev)
            try tx.appendAudit(time: now, actor: actor, team: team, action: "team.settings", subject: team, outcome: "ok",
                               detail: "ROS discovery \(settings.rosDiscovery.rawValue), discovery server \(settings.discoveryServer ?? "none"), RMW \(settings.rmwImplementation ?? "unset")")
            return .success(())
        }
        if case .failure(let e) = r.flatMap({ $0 }) { return .failure(e) }
        return .success(listTeams().first { $0.name == team }!)
    }
}

