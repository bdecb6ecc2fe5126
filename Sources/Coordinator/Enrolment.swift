import Foundation
import GRDB
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
        let written = await write { db -> Result<(Int64, Member), APIError> in
            do {
                return .success(try self.enrollTransaction(db, req: req, key: key, remoteIP: remoteIP, now: now))
            } catch let e as APIError {
                try db.appendAudit(time: now, actor: actor, team: req.team.isEmpty ? nil : String(req.team.prefix(63)), action: "node.enroll",
                                   subject: String(req.name.prefix(63)), outcome: e.code.rawValue, detail: e.message)
                return .failure(e)
            }
        }
        switch written {
        case .failure(let e), .success(.failure(let e)):
            logger.notice("enrolment refused", metadata: ["token": "\(req.tokenID)", "team": "\(req.team.prefix(63))", "code": "\(e.code)"])
            return .failure(e)
        case .success(.success(let (tid, member))):
            logger.info("node enrolled", metadata: ["team": "\(req.team)", "node": "\(member.name)", "address": "\(member.address)"])
            let map = state.withLock { $0.teams[tid]!.map.full() }
            return .success(EnrollReply(node: member, map: map))
        }
    }

    private func enrollTransaction(_ db: Database, req: EnrollRequest, key: PublicKey, remoteIP: String?, now: Int64) throws -> (Int64, Member) {
        // The token: found by id, then the secret compared in constant time against its hash.
        guard let secret = Base64.decode(req.secret), secret.count == 32 else {
            throw APIError(.malformedToken, "the token secret is malformed (expected 32 bytes of base64)")
        }
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [req.tokenID.description]) else {
            throw APIError(.unknownToken, "no such token: unknown id or wrong secret")
        }
        let token = try TokenRow(row: row)
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
        let retry = try String.fetchOne(db, sql: "SELECT token_id FROM node WHERE public_key = ? AND team_id = ?",
                                        arguments: [Data(key.rawValue), tid]) == token.id.description
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
        let (team, existingTeam, nameOwner, candidate) = state.withLock { s in
            let a = s.teams[tid]!.allocator.peek()
            let t = s.teams[tid]!
            return (t.map.settings, s.teamOfKey[key], t.map.member(named: req.name), a)
        }
        if let other = existingTeam, other != tid {
            throw APIError(.keyInOtherTeam, "this WireGuard key is already enrolled in another team; use a separate key per team")
        }
        if let owner = nameOwner, owner.publicKey != key {
            throw APIError(.nameTaken, "the name '\(req.name)' is taken in team '\(team.name)' by another node; choose another --name, or have an admin run `teamwire node remove \(team.name) \(req.name)`")
        }
        let observed = observedEndpoint(remoteIP: remoteIP, listenPort: req.listenPort)
        let endpointsJSON = encodeEndpoints(req.endpoints)
        let rev = try db.bumpRevision(team: tid)
        var member: Member
        let nodeID: Int64
        var renamedMaster = false
        var renamedServer = false
        if existingTeam == tid, let old = state.withLock({ $0.teams[tid]!.map.entry(key) }) {
            // The same key enrolling again keeps its address.
            member = old.member
            member.name = req.name
            member.role = token.role
            member.endpoints = req.endpoints
            member.observedEndpoint = observed ?? old.member.observedEndpoint
            member.machineID = req.machineID ?? old.member.machineID
            try db.execute(sql: """
                UPDATE node SET name = ?, role = ?, endpoints = ?, listen_port = ?, observed_endpoint = ?, updated_revision = ?, token_id = ?, machine_id = ?
                WHERE public_key = ?
                """, arguments: [member.name, member.role.rawValue, endpointsJSON, req.listenPort.map { Int64($0) }, member.observedEndpoint?.description, Int64(rev), token.id.description,
                                 member.machineID, Data(key.rawValue)])
            nodeID = state.withLock { $0.teams[tid]!.nodeIDs[key]! }
            if old.member.name != req.name, team.rosMaster == old.member.name {
                // The ROS master designation follows the node across a rename.
                try db.execute(sql: "UPDATE team SET ros_master = ?, settings_revision = ? WHERE id = ?", arguments: [req.name, Int64(rev), tid])
                renamedMaster = true
            }
            if old.member.name != req.name, team.discoveryServer == old.member.name {
                // So does the discovery server designation.
                try db.execute(sql: "UPDATE team SET discovery_server = ?, settings_revision = ? WHERE id = ?", arguments: [req.name, Int64(rev), tid])
                renamedServer = true
            }
        } else {
            guard let address = candidate else {
                throw APIError(.prefixFull, "team '\(team.name)' has no free address left in \(team.prefix); remove nodes or use a larger prefix")
            }
            member = Member(name: req.name, publicKey: key, address: address, role: token.role, endpoints: req.endpoints, observedEndpoint: observed,
                            machineID: req.machineID)
            try db.execute(sql: """
                INSERT INTO node (team_id, name, public_key, address, role, endpoints, listen_port, observed_endpoint, created_revision, updated_revision, enrolled_at, token_id, machine_id)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [tid, member.name, Data(key.rawValue), Int64(address.value), member.role.rawValue, endpointsJSON, req.listenPort.map { Int64($0) }, observed?.description, Int64(rev), Int64(rev), now, token.id.description,
                                 req.machineID])
            nodeID = db.lastInsertedRowID
        }
        if !retry { try db.execute(sql: "UPDATE token SET uses = uses + 1 WHERE id = ?", arguments: [token.id.description]) }
        let kind = retry ? ", re-enrolment with the same token (no use spent)" : existingTeam == tid ? ", re-enrolment" : ""
        try db.appendAudit(time: now, actor: "token:\(token.id)", team: team.name, action: "node.enroll", subject: member.name, outcome: "ok",
                           detail: "address \(member.address), key \(key.base64Key), role \(member.role.rawValue)\(kind)")
        let final = member
        let masterRenamed = renamedMaster
        let serverRenamed = renamedServer
        db.afterNextTransaction { _ in
            let woken = self.state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.teamOfKey[key] = tid
                s.lastSeen[key] = now
                return s.withTeam(tid) { t in
                t.allocator.reserve(final.address)
                t.map.upsert(final, at: rev)
                if masterRenamed || serverRenamed {
                    var settings = t.map.settings
                    if masterRenamed { settings.rosMaster = final.name }
                    if serverRenamed { settings.discoveryServer = final.name }
                    t.map.updateSettings(settings, at: rev)
                }
                t.nodeIDs[key] = nodeID
                t.listenPorts[key] = req.listenPort
                t.enrolledAt[key] = t.enrolledAt[key] ?? now
                return t.changed()
                }
            }
            for c in woken { c.resume() }
            self.changes.bump()
        }
        return (tid, final)
    }
}
