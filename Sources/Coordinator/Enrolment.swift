import Foundation
import TeamwireCore

extension Registry {
    /// Enrols a node. Runs as one transaction: the token's use, the node, its address, the
    /// revision bump and the audit entry commit together or not at all. A refusal commits only
    /// its audit entry.
    public func enroll(_ opened: ControlCodec.OpenedRequest, remoteIP: String?) async -> Result<EnrollReply, APIError> {
        let key = opened.sender
        let now = clock()
        let req: EnrollRequest
        do { req = try opened.body(EnrollRequest.self) } catch {
            return .failure(error)
        }
        let actor = "token:\(req.tokenID)"
        let written = await write { tx -> Result<(Int64, Member), APIError> in
            let attempt = try tx.refusable { try self.enrollTransaction(tx, req: req, key: key, remoteIP: remoteIP, now: now) }
            if case .failure(let e) = attempt {
                try tx.appendAudit(time: now, actor: actor, team: req.team.isEmpty ? nil : String(req.team.prefix(63)), action: "node.enroll",
                                   subject: String(req.name.prefix(63)), outcome: e.code.rawValue, detail: e.message)
            }
            return attempt
        }
        switch written {
        case .failure(let e), .success(.failure(let e)):
            logger.notice("enrolment refused", metadata: ["token": "\(req.tokenID)", "team": "\(req.team.prefix(63))", "code": "\(e.code)"])
            return .failure(e)
        case .success(.success(let (tid, member))):
            logger.info("node enrolled", metadata: ["team": "\(req.team)", "node": "\(member.name)", "address": "\(member.address)"])
            let map = state.withLock { s in
                _ = s.seen(key, at: now)
                return s.teams[tid]!.map.full()
            }
            return .success(EnrollReply(node: member, map: map))
        }
    }

    private func enrollTransaction(_ tx: any TeamWriting, req: EnrollRequest, key: PublicKey, remoteIP: String?, now: Int64) throws -> (Int64, Member) {
        // The token: found by id, then the secret compared in constant time against its hash.
        guard let secret = Base64.decode(req.secret), secret.count == 32 else {
            throw APIError(.malformedToken, "the token secret is malformed (expected 32 bytes of base64)")
        }
        guard let token = try tx.token(req.tokenID) else {
            throw APIError(.unknownToken, "no such token: unknown id or wrong secret")
        }
        guard Sodium.constantTimeEqual(Sodium.hash(secret), token.secretHash) else {
            throw APIError(.unknownToken, "no such token: unknown id or wrong secret")
        }
        guard let tid = teamID(named: req.team), tid == token.teamID else {
            throw APIError(.wrongTeam, "this token is not for team '\(req.team.prefix(63))'")
        }
        if token.revokedAt != nil { throw APIError(.tokenRevoked, "this token was revoked by an admin") }
        // The same key enrolling again with the token it enrolled with: a retry after an answer
        // that was lost (the coordinator committed, then died or the network dropped the reply).
        // It spends no second use, so a one-use token still lets the node finish its join.
        let retry = try tx.enrolmentToken(of: key, team: tid) == token.id.description
        if now >= token.expiresAt, !retry {
            throw APIError(.tokenExpired, "this token expired \(DurationText.format(seconds: max(1, now.subtractingReportingOverflow(token.expiresAt).partialValue / 1000))) ago; ask an admin for a new one")
        }
        if let m = token.maxUses, token.uses >= m, !retry {
            throw APIError(.tokenUsedUp, "this token has been used \(token.uses) of \(m) times; ask an admin for a new one")
        }
        if let problem = Names.labelProblem(req.name) {
            throw APIError(.invalidName, "node name '\(req.name.prefix(63))' \(problem)")
        }
        guard req.endpoints.count <= ReportRequest.maxEndpoints else {
            throw APIError(.badRequest, "too many endpoint candidates (\(req.endpoints.count), at most \(ReportRequest.maxEndpoints))")
        }
        if let problem = req.machineID.flatMap(MachineID.problem) { throw APIError(.badRequest, problem) }
        let (team, existingTeam, nameOwner, old, candidate) = state.withLock { s in
            let a = s.teams[tid]!.allocator.peek()
            let t = s.teams[tid]!
            return (t.map.settings, s.teamOfKey[key], t.map.member(named: req.name), t.map.entry(key), a)
        }
        if let other = existingTeam, other != tid {
            throw APIError(.keyInOtherTeam, "this WireGuard key is already enrolled in another team; use a separate key per team")
        }
        if let owner = nameOwner, owner.publicKey != key {
            throw APIError(.nameTaken, "the name '\(req.name)' is taken in team '\(team.name)' by another node; choose another --name, or have an admin run `teamwire node remove \(team.name) \(req.name)`")
        }
        let observed = observedEndpoint(remoteIP: remoteIP, listenPort: req.listenPort)
        var member: Member
        if existingTeam == tid, let old {
            // The same key enrolling again keeps its address.
            member = old.member
            member.name = req.name
            member.role = token.role
            member.endpoints = req.endpoints
            member.observedEndpoint = observed ?? old.member.observedEndpoint
            member.machineID = req.machineID ?? old.member.machineID
            let rev = try tx.bumpRevision(team: tid)
            try tx.updateNode(team: tid, member, listenPort: req.listenPort, token: token.id, at: rev)
            // The ROS master and discovery server designations follow the node across a rename.
            var settings = team
            if old.member.name != req.name, team.rosMaster == old.member.name { settings.rosMaster = req.name }
            if old.member.name != req.name, team.discoveryServer == old.member.name { settings.discoveryServer = req.name }
            if settings != team { try tx.saveSettings(team: tid, settings, at: rev) }
        } else {
            guard let address = candidate else {
                throw APIError(.prefixFull, "team '\(team.name)' has no free address left in \(team.prefix); remove nodes or use a larger prefix")
            }
            member = Member(name: req.name, publicKey: key, address: address, role: token.role, endpoints: req.endpoints, observedEndpoint: observed,
                            machineID: req.machineID)
            let rev = try tx.bumpRevision(team: tid)
            try tx.addNode(team: tid, member, listenPort: req.listenPort, token: token.id, at: rev, now: now)
        }
        if !retry { try tx.spendTokenUse(token.id) }
        let kind = retry ? ", re-enrolment with the same token (no use spent)" : existingTeam == tid ? ", re-enrolment" : ""
        try tx.appendAudit(time: now, actor: "token:\(token.id)", team: team.name, action: "node.enroll", subject: member.name, outcome: "ok",
                           detail: "address \(member.address), key \(key.base64Key), role \(member.role.rawValue)\(kind)")
        return (tid, member)
    }
}
