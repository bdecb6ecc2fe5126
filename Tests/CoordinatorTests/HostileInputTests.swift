import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore
import TestSupport

extension IntegrationTests {
    /// Garbage against every public endpoint: always a clear 4xx, never a crash, nothing changed.
    @Suite("Hostile input")
    struct HostileInputTests {
        @Test func randomBytesAgainstEveryEndpoint() async throws {
            try await TestCoordinator.with { tc in
                try await tc.createTeam("iris")
                let token = try await tc.token("iris", uses: 5)
                let (node, _) = try await tc.enroll(token, name: "robot1")
                let before = (try await tc.admin.listTeams(), try await tc.admin.listTokens(team: "iris"), try await tc.admin.audit(team: nil).count)

                var rng = SeededRNG(seed: 42)
                var bodies: [[UInt8]] = [[], [0x54], [0x54, 0x57, 0x02, 0x01], [UInt8](repeating: 0x41, count: Envelope.maxSize + 1)]
                for i in 0..<1000 {
                    let len = Int(rng.next() % 300)
                    var b = (0..<len).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                    if i % 2 == 0 { b = [0x54, 0x57, 0x01, 0x01] + b }  // past the magic check
                    bodies.append(b)
                }
                for op in Operation.allCases {
                    let statuses = try await withThrowingTaskGroup(of: (Int, [UInt8]).self) { group in
                        var out: [(Int, [UInt8])] = []
                        for (i, b) in bodies.enumerated() {
                            group.addTask { try await tc.postRaw(op.path, b) }
                            if i >= 16 { out.append(try await group.next()!) }
                        }
                        for try await r in group { out.append(r) }
                        return out
                    }
                    for (status, body) in statuses {
                        #expect((400..<500).contains(status), "\(op.path) answered \(status)")
                        let e = try? JSONDecoder().decode(ErrorBody.self, from: Data(body))
                        #expect(e != nil && !(e!.error.message.isEmpty), "\(op.path): unclear error body")
                    }
                }
                // Still serving, and nothing changed.
                _ = try await node.map(since: 0)
                let after = (try await tc.admin.listTeams(), try await tc.admin.listTokens(team: "iris"), try await tc.admin.audit(team: nil).count)
                #expect(after.0 == before.0 && after.1 == before.1 && after.2 == before.2)
            }
        }
    }
}
