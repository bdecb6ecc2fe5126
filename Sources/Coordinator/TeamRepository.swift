import TeamwireCore

/// Where teams, nodes, tokens and the audit log are stored: every read and write the registry
/// makes. The registry keeps no SQL; it decides, the repository writes and reports the change.
protocol TeamRepository: Sendable {
    /// Where the data lives (for the log).
    var location: String { get }

    /// Everything stored, as the changes that rebuild memory at start: each team, then every node,
    /// then per team its newest `historyPerTeam` removals (`.historyLoaded`, last for its team).
    func load(historyPerTeam: Int) throws -> [TeamChange]

    /// Runs `body` as one transaction of the single writer; a throw rolls all of it back.
    /// `published` gets the TeamChanges the transaction recorded, right after its commit and
    /// before the next transaction starts (so in commit order); not called when none were.
    func write<T: Sendable>(_ body: @escaping @Sendable (any TeamWriting) throws -> T,
                            published: @escaping @Sendable ([TeamChange]) -> Void) async throws -> T

    /// The newest removal of a key, to tell a removed node why.
    func lastRemoval(of key: PublicKey) async throws -> RemovalNotice?
    /// A team's tokens, oldest first.
    func tokens(team: Int64) async throws -> [TokenRow]
    /// The newest `limit` audit entries (of one team, or all), oldest first.
    func auditEvents(team: String?, limit: Int) async throws -> [AuditEvent]
}

/// The reads and writes of one transaction. Each write to a team returns its TeamChange and
/// records it for `published`.
protocol TeamWriting: AnyObject {
    /// Runs `body` in a savepoint: a refusal (APIError) it throws undoes what it wrote (and the
    /// changes it recorded) and is returned, so the caller can still write an audit entry.
    func refusable<T>(_ body: () throws -> T) throws -> Result<T, APIError>

    func appendAudit(time: Int64, actor: String, team: String?, action: String, subject: String?, outcome: String, detail: String?) throws
    /// Bumps and returns the team's revision: every change to a team is at a new revision.
    func bumpRevision(team: Int64) throws -> UInt64

    /// Every team's settings (a new team's name, prefix and ROS domain must differ from them).
    func allTeamSettings() throws -> [TeamSettings]
    /// A new team at revision 1.
    @discardableResult func createTeam(_ settings: TeamSettings, now: Int64) throws -> TeamChange
    /// The team's changeable settings (ROS master, discovery, discovery server, RMW) at `rev`.
    @discardableResult func saveSettings(team: Int64, _ settings: TeamSettings, at rev: UInt64) throws -> TeamChange

    func token(_ id: TokenID) throws -> TokenRow?
    func insertToken(_ token: TokenRow) throws
    /// Revokes a token (keeping an earlier revocation time); nil when there is no such token.
    func revokeToken(_ id: TokenID, now: Int64) throws -> (token: TokenRow, team: String)?
    func spendTokenUse(_ id: TokenID) throws

    /// The id of the token a key enrolled in the team with, if it is a member.
    func enrolmentToken(of key: PublicKey, team: Int64) throws -> String?
    @discardableResult func addNode(team: Int64, _ member: Member, listenPort: UInt16?, token: TokenID, at rev: UInt64, now: Int64) throws -> TeamChange
    /// Rewrites a member's record at `rev`; `token` replaces the token it enrolled with, if given.
    @discardableResult func updateNode(team: Int64, _ member: Member, listenPort: UInt16?, token: TokenID?, at rev: UInt64) throws -> TeamChange
    /// Deletes the node and records its tombstone.
    @discardableResult func removeNode(team: Int64, _ entry: TeamMapState.Entry, at rev: UInt64, now: Int64, reason: String) throws -> TeamChange
}

/// Why a key is no longer a member.
struct RemovalNotice: Sendable {
    var name: String
    var team: String
    var reason: String
}
