/// One team's map as the coordinator holds it in memory, with enough history to answer
/// "what changed since revision R" in time proportional to what changed, not to the team's size.
public struct TeamMapState: Sendable {
    public struct Entry: Sendable, Equatable {
        public var member: Member
        public var createdRevision: UInt64
        public var updatedRevision: UInt64

        public init(member: Member, createdRevision: UInt64, updatedRevision: UInt64) {
            self.member = member
            self.createdRevision = createdRevision
            self.updatedRevision = updatedRevision
        }
    }

    /// A change record: which key changed at which revision. Removals remember when the member
    /// was created, so a node that never saw it is not told about its removal.
    struct Change: Sendable {
        var revision: UInt64
        var key: PublicKey
        var removedCreatedRevision: UInt64?
    }

    public private(set) var revision: UInt64
    public private(set) var settings: TeamSettings
    public private(set) var settingsRevision: UInt64
    public private(set) var hub: HubPeer
    public private(set) var entries: [PublicKey: Entry] = [:]
    private var byName: [String: PublicKey] = [:]
    /// Ordered by revision. Deltas from revisions below `floor` cannot be computed.
    private var log: [Change] = []
    public private(set) var floor: UInt64
    public var maxLogLength: Int

    public init(settings: TeamSettings, hub: HubPeer, revision: UInt64, settingsRevision: UInt64 = 0, floor: UInt64 = 0, maxLogLength: Int = 4096) {
        self.settings = settings
        self.hub = hub
        self.revision = revision
        self.settingsRevision = settingsRevision
        self.floor = floor
        self.maxLogLength = maxLogLength
    }

    public var members: [Member] { entries.values.map(\.member).sorted { $0.address < $1.address } }
    public var count: Int { entries.count }
    public func entry(_ key: PublicKey) -> Entry? { entries[key] }
    public func member(named name: String) -> Member? { byName[name].flatMap { entries[$0]?.member } }

    // MARK: loading (from the store at start-up; revisions come from there)

    public mutating func load(_ entry: Entry) {
        entries[entry.member.publicKey] = entry
        byName[entry.member.name] = entry.member.publicKey
        appendLog(Change(revision: entry.updatedRevision, key: entry.member.publicKey, removedCreatedRevision: nil), sorted: false)
    }

    public mutating func loadRemoval(key: PublicKey, createdRevision: UInt64, revision: UInt64) {
        appendLog(Change(revision: revision, key: key, removedCreatedRevision: createdRevision), sorted: false)
    }

    /// History before `f` is not available (it was not loaded): deltas from before it are full maps.
    public mutating func raiseFloor(to f: UInt64) { floor = max(floor, f) }

    /// Call once after loading.
    public mutating func finishLoading() {
        log.sort { $0.revision < $1.revision }
        trim()
    }

    // MARK: changes (one transaction may make several changes at the same revision)

    public mutating func upsert(_ member: Member, at rev: UInt64) {
        precondition(rev >= revision, "revisions never go back (several changes may share one revision)")
        let old = entries[member.publicKey]
        if let o = old, o.member.name != member.name, byName[o.member.name] == member.publicKey { byName[o.member.name] = nil }
        byName[member.name] = member.publicKey
        let created = old?.createdRevision ?? rev
        entries[member.publicKey] = Entry(member: member, createdRevision: created, updatedRevision: rev)
        revision = rev
        appendLog(Change(revision: rev, key: member.publicKey, removedCreatedRevision: nil), sorted: true)
    }

    public mutating func remove(_ key: PublicKey, at rev: UInt64) {
        precondition(rev >= revision, "revisions never go back (several changes may share one revision)")
        guard let old = entries.removeValue(forKey: key) else { return }
        if byName[old.member.name] == key { byName[old.member.name] = nil }
        revision = rev
        appendLog(Change(revision: rev, key: key, removedCreatedRevision: old.createdRevision), sorted: true)
    }

    public mutating func updateSettings(_ s: TeamSettings, at rev: UInt64) {
        precondition(rev >= revision, "revisions never go back (several changes may share one revision)")
        settings = s
        settingsRevision = rev
        revision = rev
    }

    private mutating func appendLog(_ c: Change, sorted: Bool) {
        log.append(c)
        if sorted { trim() }
    }

    private mutating func trim() {
        guard log.count > maxLogLength else { return }
        let drop = log.count - maxLogLength
        floor = max(floor, log[drop - 1].revision)
        log.removeFirst(drop)
    }

    // MARK: queries

    public func full() -> MapUpdate {
        MapUpdate(revision: revision, full: true, team: settings, hub: hub, members: members)
    }

    /// The update that brings a node at revision `since` to the current revision: an empty delta
    /// when nothing changed, a delta when the history reaches back that far and the delta is
    /// smaller than the team, else the full map.
    public func update(since: UInt64) -> MapUpdate {
        if since == revision { return MapUpdate(revision: revision, full: false, team: settings, hub: hub, members: nil) }
        guard since > 0, since < revision, since >= floor else { return full() }
        // First change after `since` (binary search: the log is sorted by revision).
        var lo = 0, hi = log.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if log[mid].revision <= since { lo = mid + 1 } else { hi = mid }
        }
        if log.count - lo > entries.count { return full() }
        var added: [Member] = [], updated: [Member] = [], removed: [PublicKey] = []
        // Keys the node had at `since` and that were removed after it. Not only the last removal
        // counts: a member removed, re-enrolled with the same key and removed again has a last
        // removal whose creation is after `since`, yet the node still holds the first incarnation.
        var removedSinceHeld = Set<PublicKey>()
        for c in log[lo...] {
            if let created = c.removedCreatedRevision, created <= since { removedSinceHeld.insert(c.key) }
        }
        var seen = Set<PublicKey>()
        for c in log[lo...].reversed() where seen.insert(c.key).inserted {
            if let e = entries[c.key] {
                if e.createdRevision > since { added.append(e.member) } else { updated.append(e.member) }
            } else if c.removedCreatedRevision != nil, removedSinceHeld.contains(c.key) {
                removed.append(c.key)
            } else if c.removedCreatedRevision == nil {
                // Loaded history: a key no longer present whose removal we know nothing else about.
                removed.append(c.key)
            }
        }
        added.sort { $0.address < $1.address }
        updated.sort { $0.address < $1.address }
        removed.sort()
        return MapUpdate(revision: revision, full: false, team: settings, hub: hub, members: nil, added: added, updated: updated, removed: removed)
    }
}
