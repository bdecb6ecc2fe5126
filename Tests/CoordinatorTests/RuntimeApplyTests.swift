@testable import Coordinator
import Testing
import TeamwireCore

/// RuntimeState.apply, one change kind at a time: what each does to the team map, the address
/// allocator and the per-member tables (no store, no server: apply is pure).
@Suite struct RuntimeApplyTests {
    static let hubKey = testKey(200)
    static let prefix = IPv4Prefix("100.64.0.0/24")!

    func state(revision: UInt64 = 1) -> RuntimeState {
        var s = RuntimeState(hubKey: Self.hubKey, hubEndpoints: [Endpoint("192.0.2.1:51820")!])
        s.apply(.teamCreated(TeamRow(id: 7, settings: TeamSettings(name: "iris", prefix: Self.prefix, mode: .auto, rosDomainID: 3),
                                     revision: revision, settingsRevision: 1, createdAt: 1000)))
        return s
    }

    func member(_ n: UInt8, _ name: String) -> Member {
        Member(name: name, publicKey: testKey(n), address: IPv4Address(Self.prefix.first.value + UInt32(n) + 1), role: .robot,
               endpoints: [Endpoint("198.51.100.\(n):51820")!])
    }

    func node(_ n: UInt8, _ name: String, at rev: UInt64, created: UInt64? = nil) -> NodeRow {
        NodeRow(id: Int64(n), teamID: 7, member: member(n, name), listenPort: 51820, createdRevision: created ?? rev, updatedRevision: rev, enrolledAt: 5000 + Int64(n))
    }

    @Test func aCreatedTeamHasTheHubAndNoMembers() throws {
        let s = state(revision: 4)
        let t = try #require(s.teams[7])
        #expect(s.teamByName["iris"] == 7)
        #expect(t.createdAt == 1000)
        #expect(t.map.revision == 4 && t.map.settingsRevision == 1 && t.map.count == 0)
        #expect(t.map.hub == HubPeer(publicKey: Self.hubKey, address: IPv4Address("100.64.0.1")!, endpoints: [Endpoint("192.0.2.1:51820")!]))
        var allocator = t.allocator
        #expect(allocator.peek() == IPv4Address("100.64.0.2"))
    }

    @Test func anAddedNodeIsAMemberAtItsRevision() throws {
        var s = state()
        s.apply(.nodeAdded(node(1, "robot1", at: 2)))
        let t = try #require(s.teams[7])
        #expect(s.teamOfKey[testKey(1)] == 7)
        #expect(t.map.revision == 2)
        #expect(t.map.entry(testKey(1)) == .init(member: member(1, "robot1"), createdRevision: 2, updatedRevision: 2))
        #expect(t.map.member(named: "robot1")?.publicKey == testKey(1))
        #expect(t.allocator.isUsed(member(1, "robot1").address))
        #expect(t.listenPorts[testKey(1)] == 51820 && t.enrolledAt[testKey(1)] == 5001)
        #expect(t.map.update(since: 1).added == [member(1, "robot1")])
    }

    @Test func anUpdatedNodeKeepsItsCreationAndAddress() throws {
        var s = state()
        s.apply(.nodeAdded(node(1, "robot1", at: 2)))
        var renamed = member(1, "scout")
        renamed.observedEndpoint = Endpoint("203.0.113.9:4000")
        s.apply(.nodeUpdated(team: 7, member: renamed, listenPort: nil, at: 3))
        let t = try #require(s.teams[7])
        #expect(t.map.entry(testKey(1)) == .init(member: renamed, createdRevision: 2, updatedRevision: 3))
        #expect(t.map.member(named: "robot1") == nil && t.map.member(named: "scout") == renamed)
        #expect(t.listenPorts[testKey(1)] == nil)
        #expect(t.enrolledAt[testKey(1)] == 5001)
        let delta = t.map.update(since: 2)
        #expect(delta.updated == [renamed] && delta.added.isEmpty)
    }

    @Test func aRemovedNodeFreesItsAddressAndItsCaches() throws {
        var s = state()
        s.apply(.nodeAdded(node(1, "robot1", at: 2)))
        s.apply(.nodeAdded(node(2, "robot2", at: 3)))
        s.sharedKeys[testKey(1)] = SharedKey(privateKey: PrivateKey.generate(), publicKey: testKey(1))
        s.lastSeen[testKey(1)] = 9000
        s.teams[7]!.hubObserved[testKey(1)] = Endpoint("203.0.113.1:1")
        s.apply(.nodeRemoved(team: 7, key: testKey(1), at: 4))
        let t = try #require(s.teams[7])
        #expect(s.teamOfKey[testKey(1)] == nil && s.sharedKeys[testKey(1)] == nil && s.lastSeen[testKey(1)] == nil)
        #expect(t.map.entry(testKey(1)) == nil && t.map.member(named: "robot1") == nil && t.map.revision == 4)
        #expect(t.listenPorts[testKey(1)] == nil && t.enrolledAt[testKey(1)] == nil && t.hubObserved[testKey(1)] == nil)
        #expect(!t.allocator.isUsed(member(1, "robot1").address) && t.allocator.isUsed(member(2, "robot2").address))
        var allocator = t.allocator
        #expect(allocator.peek() == member(1, "robot1").address)
        #expect(t.map.update(since: 3).removed == [testKey(1)])
        // A node that joined after robot1 left never hears of it.
        #expect(t.map.update(since: 4).isEmptyDelta)
    }

    @Test func settingsMoveTheSettingsRevision() throws {
        var s = state()
        var settings = try #require(s.teams[7]).map.settings
        settings.rosMaster = "robot1"
        settings.rmwImplementation = "rmw_cyclonedds_cpp"
        s.apply(.settingsChanged(team: 7, settings, at: 2))
        let t = try #require(s.teams[7])
        #expect(t.map.settings == settings && t.map.settingsRevision == 2 && t.map.revision == 2)
        #expect(t.map.update(since: 1).team.rosMaster == "robot1")
    }

    /// At start the store's rows are history: the team's revision stays the stored one, and the
    /// loaded log still answers deltas (a removal included) down to the floor.
    @Test func loadedNodesAndHistoryAnswerDeltas() throws {
        var s = state(revision: 9)
        s.apply(.nodeLoaded(node(1, "robot1", at: 6, created: 2)))
        s.apply(.nodeLoaded(node(2, "robot2", at: 8, created: 8)))
        s.apply(.historyLoaded(team: 7, removals: [StoredRemoval(key: testKey(3), createdRevision: 3, revision: 9),
                                                   StoredRemoval(key: testKey(4), createdRevision: 4, revision: 5)], floor: 5))
        let t = try #require(s.teams[7])
        #expect(t.map.revision == 9 && t.map.floor == 5 && s.teamOfKey[testKey(2)] == 7)
        #expect(t.map.entry(testKey(1)) == .init(member: member(1, "robot1"), createdRevision: 2, updatedRevision: 6))
        #expect(t.allocator.isUsed(member(2, "robot2").address))
        let delta = t.map.update(since: 7)
        #expect(delta.added == [member(2, "robot2")] && delta.removed == [testKey(3)] && delta.updated.isEmpty)
        #expect(t.map.update(since: 4).full)
    }

    /// Replaying a team as the store holds it after some live changes gives the memory those
    /// live changes gave.
    @Test func replayEqualsLive() {
        var live = state()
        live.apply(.nodeAdded(node(1, "robot1", at: 2)))
        live.apply(.nodeAdded(node(2, "robot2", at: 3)))
        live.apply(.nodeUpdated(team: 7, member: member(1, "scout"), listenPort: 51820, at: 4))
        var settings = live.teams[7]!.map.settings
        settings.rosMaster = "scout"
        live.apply(.settingsChanged(team: 7, settings, at: 4))
        live.apply(.nodeRemoved(team: 7, key: testKey(2), at: 5))

        var loaded = RuntimeState(hubKey: Self.hubKey, hubEndpoints: [Endpoint("192.0.2.1:51820")!])
        loaded.apply(.teamCreated(TeamRow(id: 7, settings: settings, revision: 5, settingsRevision: 4, createdAt: 1000)))
        let scout = node(1, "scout", at: 4, created: 2)
        loaded.apply(.nodeLoaded(scout))
        loaded.apply(.historyLoaded(team: 7, removals: [StoredRemoval(key: testKey(2), createdRevision: 3, revision: 5)], floor: nil))
        #expect(RuntimeSnapshot(loaded) == RuntimeSnapshot(live))
        for since: UInt64 in [0, 1, 2, 3, 4, 5] {
            #expect(loaded.teams[7]!.map.update(since: since).removed == live.teams[7]!.map.update(since: since).removed)
        }
    }
}
