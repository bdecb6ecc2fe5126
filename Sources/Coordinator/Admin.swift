import Foundation
import TeamwireCore

/// Admin operations (reached through the Unix socket). Every one that changes something writes
/// an audit entry in the same transaction.
extension Registry {
    /// Where default team prefixes come from: /24s of the shared address space 100.64.0.0/10.
    public static let defaultPool = IPv4Prefix("100.64.0.0/10")!
    public static let teamPrefixLengths = 16...AddressAllocator.longestUsablePrefix

    public func createTeam(_ req: CreateTeamRequest, actor: String) async -> Result<TeamInfo, APIError> {
        if let problem = Names.labelProblem(req.name) {
            return .failure(APIError(.invalidName, "team name '\(req.name.prefix(63))' \(problem)"))
        }
        if let p = req.prefix, !Self.teamPrefixLengths.contains(p.length) {
            return .failure(APIError(.invalidPrefix, "prefix \(p) has length /\(p.length); a team prefix must be /\(Self.teamPrefixLengths.lowerBound) to /\(Self.teamPrefixLengths.upperBound)"))
        }
        if let d = req.rosDomainID, !TeamSettings.rosDomainIDs.contains(d) {
            return .failure(APIError(.invalidArgument, "ROS domain id \(d) is outside \(TeamSettings.rosDomainIDs.lowerBound)...\(TeamSettings.rosDomainIDs.upperBound)"))
        }
        if let r = req.rmwImplementation, let problem = RmwName.problem(r) {
            return .failure(APIError(.invalidArgument, "RMW implementation '\(r.prefix(64))' \(problem)"))
        }
        let now = clock()
        let result = await write { tx -> Result<Void, APIError> in
            let existing = try tx.allTeamSettings()
            if existing.contains(where: { $0.name == req.name }) {
                return .failure(APIError(.teamExists, "a team named '\(req.name)' already exists"))
            }
            let prefix: IPv4Prefix
            if let p = req.prefix {
                if let clash = existing.first(where: { $0.prefix.overlaps(p) }) {
                    return .failure(APIError(.prefixOverlap, "prefix \(p) overlaps team '\(clash.name)' (\(clash.prefix))"))
                }
                prefix = p
            } else {
                guard let p = Self.nextFreePrefix(avoiding: existing.map(\.prefix)) else {
                    return .failure(APIError(.noFreePrefix, "no free /24 left in \(Self.defaultPool); give --cidr explicitly"))
                }
                prefix = p
            }
            let used = Set(existing.map(\.rosDomainID))
            let domain = req.rosDomainID ?? (1...TeamSettings.rosDomainIDs.upperBound).first { !used.contains($0) } ?? 1
            let settings = TeamSettings(name: req.name, prefix: prefix, mode: req.mode ?? .auto, rosDomainID: domain,
                                        rosDiscovery: req.rosDiscovery ?? .peers, rmwImplementation: req.rmwImplementation)
            try tx.createTeam(settings, now: now)
            try tx.appendAudit(time: now, actor: actor, team: settings.name, action: "team.create", subject: settings.name, outcome: "ok",
                               detail: "prefix \(prefix), mode \(settings.mode.rawValue), ROS domain \(domain), ROS discovery \(settings.rosDiscovery.rawValue), RMW \(settings.rmwImplementation ?? "unset")")
            return .success(())
        }
        if case .failure(let e) = result.flatMap({ $0 }) { return .failure(e) }
        return .success(listTeams().first { $0.name == req.name }!)
    }

    static func nextFreePrefix(avoiding taken: [IPv4Prefix]) -> IPv4Prefix? {
        let pool = defaultPool
        var v = pool.first.value
        while v <= pool.last.value - 255 {
            let candidate = IPv4Prefix(address: IPv4Address(v), length: 24)!
            if let clash = taken.first(where: { $0.overlaps(candidate) }) {
                // Skip past the clashing prefix (it may be larger than a /24).
                v = max(v + 256, (clash.last.value & ~UInt32(255)) &+ 256)
                if v == 0 { return nil }
            } else {
                return candidate
            }
        }
        return nil
    }

    public func listTeams() -> [TeamInfo] {
        state.withLock { s in
            s.teams.values.map { t in
                let st = t.map.settings
                return TeamInfo(name: st.name, prefix: st.prefix, mode: st.mode, rosDomainID: st.rosDomainID, rosMaster: st.rosMaster,
                                hubAddress: t.map.hub.address, members: t.map.count, revision: t.map.revision, createdAt: t.createdAt,
                                rosDiscovery: st.rosDiscovery, discoveryServer: st.discoveryServer, rmwImplementation: st.rmwImplementation)
            }.sorted { $0.name < $1.name }
        }
    }

    public func createToken(team: String, _ req: CreateTokenRequest, actor: String) async -> Result<CreatedToken, APIError> {
        let tid: Int64
        do { tid = try requireTeam(team) } catch { return .failure(error) }
        let reusable = req.reusable ?? false
        if reusable, req.uses != nil { return .failure(APIError(.invalidArgument, "give either a number of uses or reusable, not both")) }
        let maxUses: Int? = reusable ? nil : (req.uses ?? 1)
        if let m = maxUses, !(1...CreateTokenRequest.maxUses).contains(m) {
            return .failure(APIError(.invalidArgument, "uses must be 1...\(CreateTokenRequest.maxUses)"))
        }
        let expires = req.expiresInSeconds ?? CreateTokenRequest.defaultExpirySeconds
        guard (1...CreateTokenRequest.maxExpirySeconds).contains(expires) else {
            return .failure(APIError(.invalidArgument, "expiry must be between 1 s and \(CreateTokenRequest.maxExpirySeconds / 86400) days"))
        }
        let role = req.role ?? .robot
        let endpoints = tokenEndpoints
        guard !endpoints.isEmpty else {
            return .failure(APIError(.invalidArgument, "the coordinator has no public endpoint to put into tokens; restart it with --public-endpoint HOST:PORT"))
        }
        let id = TokenID.random()
        let secret = Sodium.randomBytes(32)
        let now = clock()
        let row = TokenRow(id: id, teamID: tid, secretHash: Sodium.hash(secret), role: role, maxUses: maxUses, uses: 0,
                           expiresAt: now + expires * 1000, revokedAt: nil, createdAt: now)
        let result = await write { tx -> TokenInfo in
            try tx.insertToken(row)
            try tx.appendAudit(time: now, actor: actor, team: team, action: "token.create", subject: id.description, outcome: "ok",
                               detail: "role \(role.rawValue), \(maxUses.map { "\($0) use(s)" } ?? "reusable"), expires in \(DurationText.format(seconds: expires))")
            return row.info(team: team, now: now)
        }
        return result.map { info in
            let token = EnrolmentToken(id: id, secret: secret, coordinatorKey: identity.publicKey, team: team, endpoints: endpoints)
            return CreatedToken(info: info, token: token.text)
        }
    }

    public func listTokens(team: String) async -> Result<[TokenInfo], APIError> {
        let tid: Int64
        do { tid = try requireTeam(team) } catch { return .failure(error) }
        let now = clock()
        do {
            return .success(try await repository.tokens(team: tid).map { $0.info(team: team, now: now) })
        } catch {
            return .failure(APIError(.internalError, "could not read tokens: \(error)"))
        }
    }

    public func revokeToken(id: String, actor: String) async -> Result<TokenInfo, APIError> {
        guard let tokenID = TokenID(id) else { return .failure(APIError(.invalidArgument, "'\(id.prefix(40))' is not a token id (16 hex digits)")) }
        let now = clock()
        let r = await write { tx -> Result<TokenInfo, APIError> in
            guard let (token, team) = try tx.revokeToken(tokenID, now: now) else {
                return .failure(APIError(.tokenNotFound, "no token with id \(tokenID)"))
            }
            try tx.appendAudit(time: now, actor: actor, team: team, action: "token.revoke", subject: tokenID.description, outcome: "ok", detail: nil)
            return .success(token.info(team: team, now: now))
        }
        return r.flatMap { $0 }
    }

    public func listNodes(team: String?) -> Result<[NodeInfo], APIError> {
        var only: Int64? = nil
        if let team {
            do { only = try requireTeam(team) } catch { return .failure(error) }
        }
        return .success(state.withLock { s in
            s.teams.values.filter { only == nil || $0.id == only }.sorted { $0.map.settings.name < $1.map.settings.name }.flatMap { t in
                t.map.entries.values.sorted { $0.member.address < $1.member.address }.map { s.nodeInfo(t, $0) }
            }
        })
    }

    public func removeNode(team: String, name: String, actor: String) async -> Result<NodeInfo, APIError> {
        let tid: Int64
        do { tid = try requireTeam(team) } catch { return .failure(error) }
        guard let key = state.withLock({ $0.teams[tid]?.map.member(named: name)?.publicKey }) else {
            return .failure(APIError(.nodeNotFound, "team '\(team)' has no node named '\(name.prefix(63))'"))
        }
        return await removeNode(team: tid, key: key, actor: actor, action: "node.remove", reason: "removed by \(actor)")
    }

    public func setRosMaster(team: String, name: String, actor: String) async -> Result<TeamInfo, APIError> {
        let tid: Int64
        do { tid = try requireTeam(team) } catch { return .failure(error) }
        let now = clock()
        let r = await write { tx -> Result<Void, APIError> in
            guard var settings = self.state.withLock({ s -> TeamSettings? in
                guard let t = s.teams[tid], t.map.member(named: name) != nil else { return nil }
                return t.map.settings
            }) else {
                return .failure(APIError(.nodeNotFound, "team '\(team)' has no node named '\(name.prefix(63))'"))
            }
            settings.rosMaster = name
            let rev = try tx.bumpRevision(team: tid)
            try tx.saveSettings(team: tid, settings, at: rev)
            try tx.appendAudit(time: now, actor: actor, team: team, action: "team.ros-master", subject: name, outcome: "ok", detail: nil)
            return .success(())
        }
        if case .failure(let e) = r.flatMap({ $0 }) { return .failure(e) }
        return .success(listTeams().first { $0.name == team }!)
    }

    public func auditEvents(team: String?, limit: Int) async -> Result<[AuditEvent], APIError> {
        let limit = max(1, min(limit, 100_000))
        do {
            return .success(try await repository.auditEvents(team: team, limit: limit))
        } catch {
            return .failure(APIError(.internalError, "could not read the audit log: \(error)"))
        }
    }

    /// The hub's WireGuard peer set for one team, derived from the registry: every member at its
    /// /32. (The hub itself applies `hubTeams()`, every team at once: Hub.swift.)
    public func hubPeers(team: String) -> [(publicKey: PublicKey, allowedIP: IPv4Prefix, endpoint: Endpoint?)] {
        state.withLock { s in
            guard let tid = s.teamByName[team], let t = s.teams[tid] else { return [] }
            return t.map.members.map { ($0.publicKey, IPv4Prefix.host($0.address), $0.endpointCandidates.first) }
        }
    }
}
