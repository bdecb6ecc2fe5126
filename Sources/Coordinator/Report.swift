import Foundation
import TeamwireCore

extension Registry {
    /// A node reports its endpoint candidates (and, by reporting, that it is alive). Only a change
    /// of endpoints is written and propagated; a report that changes nothing costs no write.
    public func report(from key: PublicKey, _ req: ReportRequest, remoteIP: String?) async -> Result<ReportReply, APIError> {
        guard req.endpoints.count <= ReportRequest.maxEndpoints else {
            return .failure(APIError(.badRequest, "too many endpoint candidates (\(req.endpoints.count), at most \(ReportRequest.maxEndpoints))"))
        }
        if let problem = req.machineID.flatMap(MachineID.problem) { return .failure(APIError(.badRequest, problem)) }
        let tid: Int64
        switch await membership(key) {
        case .failure(let e): return .failure(e)
        case .success(let t): tid = t
        }
        // What the hub's WireGuard saw wins over the request's source address (NAT maps the
        // WireGuard port to another one than the HTTP connection's).
        let observed = state.withLock { $0.teams[tid]?.hubObserved[key] } ?? observedEndpoint(remoteIP: remoteIP, listenPort: req.listenPort)
        let unchanged = state.withLock { s -> ReportReply? in
            guard let e = s.teams[tid]?.map.entry(key) else { return nil }
            let m = e.member
            if m.endpoints == req.endpoints, m.observedEndpoint == (observed ?? m.observedEndpoint), s.teams[tid]!.listenPorts[key] == req.listenPort,
               m.machineID == (req.machineID ?? m.machineID) {
                return ReportReply(observedEndpoint: m.observedEndpoint, revision: s.teams[tid]!.map.revision)
            }
            return nil
        }
        if let r = unchanged { return .success(r) }

        let result = await write { tx -> Result<ReportReply, APIError> in
            guard var member = self.state.withLock({ $0.teams[tid]?.map.entry(key)?.member }) else {
                return .failure(APIError(.nodeRemoved, "this node was removed from its team"))
            }
            member.endpoints = req.endpoints
            member.observedEndpoint = observed ?? member.observedEndpoint
            member.machineID = req.machineID ?? member.machineID
            let rev = try tx.bumpRevision(team: tid)
            try tx.updateNode(team: tid, member, listenPort: req.listenPort, token: nil, at: rev)
            return .success(ReportReply(observedEndpoint: member.observedEndpoint, revision: rev))
        }
        switch result {
        case .success(let r): return r
        case .failure(let e): return .failure(e)
        }
    }
}
