import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore

extension IntegrationTests {
    @Suite("Live team map")
    struct LongPollTests {
        /// Starts a long poll in the background and returns its task.
        func poll(_ n: NodeClient, since: UInt64, wait: Int = 30) -> Task<(MapUpdate?, ClientError?, ContinuousClock.Instant), Never> {
            Task {
                let r = await refusalResult { () async throws(ClientError) in try await n.map(since: since, wait: wait) }
                return (r.0, r.1, .now)
            }
        }

        func waitParked(_ tc: TestCoordinator, _ count: Int) async throws {
            for _ in 0..<500 where tc.registry.waitingPolls < count { try await Task.sleep(for: .milliseconds(5)) }
            #expect(tc.registry.waitingPolls == count)
        }

        @Test func longPollWakesWithinAHundredMillisecondsWithADelta() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", reusable: true)
                let (a, ra) = try await tc.enroll(token, name: "a")
                var revision = ra.map.revision
                var latencies: [Duration] = []
                for i in 0..<5 {
                    let waiting = poll(a, since: revision)
                    try await waitParked(tc, 1)
                    let (_, joined) = try await tc.enroll(token, name: "b\(i)")
                    let (update, error, woke) = await waiting.value
                    #expect(error == nil)
                    let u = try #require(update)
                    // From the commit of the change to the reply in the poller's hands.
                    let change = try #require(tc.registry.lastChange(team: "iris"))
                    #expect(change.revision == u.revision)
                    latencies.append(woke - change.at)
                    #expect(!u.full)
                    #expect(u.added.map(\.publicKey) == [joined.node.publicKey])
                    #expect(u.updated.isEmpty && u.removed.isEmpty)
                    #expect(u.revision == revision + 1)
                    revision = u.revision
                }
                // Median of five: other suites run in parallel on two cores.
                let median = latencies.sorted()[2]
                #expect(median < .milliseconds(100), "long poll wake latencies: \(latencies)")
            }
        }

        @Test func pollAnswersAtOnceWhenBehindAndTimesOutEmptyWhenCurrent() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", reusable: true)
                let (a, ra) = try await tc.enroll(token, name: "a")
                _ = try await tc.enroll(token, name: "b")
                let behind = try await a.map(since: ra.map.revision, wait: 30)
                #expect(!behind.full && behind.added.map(\.name) == ["b"])
                let fromZero = try await a.map(since: 0)
                #expect(fromZero.full && fromZero.members?.map(\.name) == ["a", "b"])
                let t0 = ContinuousClock.now
                let idle = try await a.map(since: behind.revision, wait: 1)
                #expect(idle.isEmptyDelta && idle.revision == behind.revision)
                #expect(ContinuousClock.now - t0 >= .milliseconds(900))
            }
        }

        @Test func gracefulShutdownAnswersParkedPolls() async throws {
            let tc = try await TestCoordinator.start()
            try await tc.createTeam("iris")
            let (a, ra) = try await tc.enroll(try await tc.token("iris"), name: "a")
            let poll = Task { try await a.map(since: ra.map.revision, wait: 100) }
            for _ in 0..<500 where tc.registry.waitingPolls == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(tc.registry.waitingPolls == 1)
            let t0 = ContinuousClock.now
            await tc.stop()
            // Without the drain, stop() would wait the poll's 100 s out.
            #expect(ContinuousClock.now - t0 < .seconds(10))
            let answer = try await poll.value
            #expect(answer.isEmptyDelta && answer.revision == ra.map.revision)
        }

        @Test func removalReachesAWaitingPoller() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", reusable: true)
                let (a, _) = try await tc.enroll(token, name: "a")
                let (b, rb) = try await tc.enroll(token, name: "b")
                let rev = rb.map.revision
                let pa = poll(a, since: rev), pb = poll(b, since: rev)
                try await waitParked(tc, 2)
                _ = try await tc.admin.removeNode(team: "iris", name: "b")
                let (ua, ea, _) = await pa.value
                #expect(ea == nil)
                #expect(ua?.removed == [rb.node.publicKey] && ua?.added.isEmpty == true)
                let (ub, eb, _) = await pb.value
                #expect(ub == nil)
                #expect(eb?.code == .nodeRemoved)
                // And every later request of the removed node says why.
                let again = await refusalError { () async throws(ClientError) in try await b.map(since: 0) }
                guard case .refused(let e)? = again else { Issue.record("expected refusal, got \(String(describing: again))"); return }
                #expect(e.code == .nodeRemoved && e.message.contains("removed by admin:tester"))
                #expect(await refusal { () async throws(ClientError) in try await b.report(endpoints: [], listenPort: nil) } == .nodeRemoved)
            }
        }

        @Test func teamsAreIsolated() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                try await tc.createTeam("atlas")
                let iris = try await tc.token("iris", reusable: true), atlas = try await tc.token("atlas", reusable: true)
                let (i1, _) = try await tc.enroll(iris, name: "shared-name")
                let (a1, ra) = try await tc.enroll(atlas, name: "shared-name")
                // Same name in two teams is fine; each sees only its own members.
                let atlasWait = poll(a1, since: ra.map.revision, wait: 2)
                try await waitParked(tc, 1)
                _ = try await tc.enroll(iris, name: "i2")
                _ = try await tc.admin.setRosMaster(team: "iris", name: "i2")
                let (u, _, _) = await atlasWait.value
                #expect(u?.isEmptyDelta == true, "an atlas member must not be woken by iris changes")
                let irisMap = try await i1.map(since: 0), atlasMap = try await a1.map(since: 0)
                #expect(Set(irisMap.members!.map(\.name)) == ["shared-name", "i2"])
                #expect(atlasMap.members!.map(\.publicKey) == [ra.node.publicKey])
                #expect(atlasMap.team.name == "atlas" && atlasMap.team.rosMaster == nil)
                #expect(!IPv4Prefix(irisMap.team.prefix.description)!.overlaps(atlasMap.team.prefix))
            }
        }

        @Test func reportsUpdateEndpointsOnlyWhenTheyChange() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", reusable: true)
                let (a, _) = try await tc.enroll(token, name: "a")
                let (b, rb) = try await tc.enroll(token, name: "b")
                let watching = poll(a, since: rb.map.revision)
                try await waitParked(tc, 1)
                let moved = [Endpoint("198.51.100.7:41000")!]
                let r = try await b.report(endpoints: moved, listenPort: 41000)
                #expect(r.revision == rb.map.revision + 1)
                #expect(r.observedEndpoint == Endpoint("127.0.0.1:41000")!)
                let (u, _, _) = await watching.value
                #expect(u?.updated.map(\.endpoints) == [moved])
                #expect(u?.updated.first?.observedEndpoint == Endpoint("127.0.0.1:41000")!)
                // The same report again is liveness only: no write, no revision.
                let same = try await b.report(endpoints: moved, listenPort: 41000)
                #expect(same.revision == r.revision)
            }
        }

        @Test func nodeLeavesCleanly() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", reusable: true)
                let (a, ra) = try await tc.enroll(token, name: "a")
                try await a.leave()
                #expect(try await tc.admin.listNodes(team: "iris").isEmpty)
                let audit = try await tc.admin.audit(team: "iris")
                #expect(audit.last?.action == "node.leave" && audit.last?.actor == "node:a")
                #expect(await refusal { () async throws(ClientError) in try await a.map(since: ra.map.revision) } == .nodeRemoved)
            }
        }

        @Test func replayedRequestIsRefused() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris")
                let key = PrivateKey.generate()
                _ = try await tc.enroll(token, name: "a", key: key)
                let shared = SharedKey(privateKey: key, publicKey: tc.publicKey)
                let sealed = ControlCodec.sealRequest(.report, ReportRequest(endpoints: [Endpoint("203.0.113.5:51820")!], listenPort: 51820),
                                                      senderKey: key.publicKey, sharedKey: shared, nowMillis: Registry.wallClockMillis())
                let first = try await tc.postRaw("/v1/report", sealed.bytes)
                #expect(first.status == 200)
                let second = try await tc.postRaw("/v1/report", sealed.bytes)
                #expect(second.status == 409)
                #expect(try ControlCodec.openReply(second.body, as: ReportReply.self, sharedKey: shared, requestNonce: sealed.nonce).failureCode == .replayed)
                // A request from a node whose clock is 10 minutes off is refused with the server time,
                // and NodeClient adopts it and succeeds.
                let stale = ControlCodec.sealRequest(.map, MapRequest(since: 0, waitSeconds: 0), senderKey: key.publicKey, sharedKey: shared,
                                                     nowMillis: Registry.wallClockMillis() - 600_000)
                let skew = try await tc.postRaw("/v1/map", stale.bytes)
                #expect(skew.status == 401)
                guard case .failure(let e) = try ControlCodec.openReply(skew.body, as: MapUpdate.self, sharedKey: shared, requestNonce: stale.nonce) else {
                    Issue.record("stale request was accepted"); return
                }
                #expect(e.code == .clockSkew && e.serverTime != nil)
            }
        }
    }
}
