import Coordinator
import CoordinatorClient
import Testing
import TeamwireCore

extension IntegrationTests {
    /// What the hub's WireGuard learns from members' packets (Registry.recordHubObservations),
    /// without a hub: the sighting is written at a new revision, members learn it through their
    /// map, a repeat writes nothing, a later report does not overwrite it, and it survives a restart.
    @Suite("Hub observations")
    struct HubObservationTests {
        @Test func hubSightingsReachTheMapAndTheDisk() async throws {
            let first = try await TestCoordinator.start(port: freePort())
            try await first.createTeam("iris", cidr: "100.64.0.0/24")
            let token = try await first.token("iris", uses: 2)
            let key = PrivateKey.generate()
            let (node, _) = try await first.enroll(token, name: "robot1", key: key)
            _ = try await first.enroll(token, name: "robot2")
            let before = try await node.report(endpoints: [Endpoint("198.51.100.7:51820")!], listenPort: 51820).revision
            let seen = Endpoint("203.0.113.5:40000")!

            #expect(await first.registry.recordHubObservations([key.publicKey: seen, PrivateKey.generate().publicKey: seen]) == 1)
            #expect(await first.registry.recordHubObservations([key.publicKey: seen]) == 0)
            let delta = try await node.map(since: before)
            #expect(delta.revision == before + 1 && !delta.full)
            #expect(delta.updated.map(\.observedEndpoint) == [seen] && delta.updated.map(\.endpoints) == [[Endpoint("198.51.100.7:51820")!]])
            #expect(try await node.report(endpoints: [Endpoint("198.51.100.8:51820")!], listenPort: 51820).observedEndpoint == seen)

            try await first.restart().stopping { again in
                let robot1 = try await again.admin.listNodes(team: "iris").first { $0.name == "robot1" }
                #expect(robot1?.observedEndpoint == seen && robot1?.endpoints == [Endpoint("198.51.100.8:51820")!])
            }
        }
    }
}
