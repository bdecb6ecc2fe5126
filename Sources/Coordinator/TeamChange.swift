import TeamwireCore

/// What one write did to the registry's teams, as the repository wrote it: memory follows the
/// disk by applying these (RuntimeState.apply), after each commit and, at start, replayed from
/// what is stored. Several changes of one transaction share its revision.
enum TeamChange: Sendable, Equatable {
    /// A team made by an admin, or read from the store at start (then at its stored revision).
    case teamCreated(TeamRow)
    /// A new key enrolled: its row as inserted.
    case nodeAdded(NodeRow)
    /// A node read from the store at start: its revisions are history, not a new change.
    case nodeLoaded(NodeRow)
    /// A member re-enrolled, reported or was seen by the hub: its record and WireGuard port now.
    case nodeUpdated(team: Int64, member: Member, listenPort: UInt16?, at: UInt64)
    /// A member left or was removed; a tombstone records it.
    case nodeRemoved(team: Int64, key: PublicKey, at: UInt64)
    /// The team's settings as a whole (ROS master, discovery, RMW).
    case settingsChanged(team: Int64, TeamSettings, at: UInt64)
    /// At start, after the team's nodes: its most recent removals (newest first), and the floor
    /// below which deltas cannot be computed when older removals were left on disk.
    case historyLoaded(team: Int64, removals: [StoredRemoval], floor: UInt64?)

    /// The team the change is about.
    var team: Int64 {
        switch self {
        case .teamCreated(let t): t.id
        case .nodeAdded(let n), .nodeLoaded(let n): n.teamID
        case .nodeUpdated(let t, _, _, _), .nodeRemoved(let t, _, _), .settingsChanged(let t, _, _), .historyLoaded(let t, _, _): t
        }
    }
}

/// A removal tombstone as memory keeps it: which key, when it was created and removed.
struct StoredRemoval: Sendable, Equatable {
    var key: PublicKey
    var createdRevision: UInt64
    var revision: UInt64
}
