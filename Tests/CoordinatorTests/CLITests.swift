import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore

extension IntegrationTests {
    /// The real `teamwire` binary against a real coordinator process.
    @Suite("Command line")
    struct CLITests {
        @Test func adminCommandsEndToEnd() async throws {
            let dir = makeTempDir()
            let proc = try CoordinatorProcess(dir: dir, port: freePort())
            defer { proc.terminate() }
            try await proc.waitReady()
            let s = ["--state", dir]

            var r = try await runCLI(["team", "create", "iris", "--cidr", "100.80.0.0/24", "--ros-domain-id", "7"] + s)
            #expect(r.status == 0 && r.out.contains("created team iris") && r.out.contains("100.80.0.1"))
            r = try await runCLI(["team", "list", "--json"] + s)
            let teams = try JSONDecoder().decode([TeamInfo].self, from: Data(r.out.utf8))
            #expect(teams.map(\.name) == ["iris"] && teams[0].rosDomainID == 7)

            r = try await runCLI(["token", "create", "iris", "--uses", "2", "--expires", "1h"] + s)
            #expect(r.status == 0)
            let token = try EnrolmentToken(parsing: r.out)
            #expect(token.team == "iris" && token.endpoints == [Endpoint("127.0.0.1:\(proc.port)")!])
            _ = try await NodeClient(token: token, privateKey: .generate()).enroll(token: token, name: "robot1")
            _ = try await NodeClient(token: token, privateKey: .generate()).enroll(token: token, name: "robot2")

            r = try await runCLI(["node", "list", "--team", "iris", "--json"] + s)
            let nodes = try JSONDecoder().decode([NodeInfo].self, from: Data(r.out.utf8))
            #expect(nodes.map(\.name) == ["robot1", "robot2"])
            r = try await runCLI(["node", "list"] + s)
            #expect(r.out.contains("robot1") && r.out.contains("100.80.0.2") && r.out.hasPrefix("TEAM"))

            r = try await runCLI(["node", "set-ros-master", "iris", "robot1"] + s)
            #expect(r.status == 0)
            r = try await runCLI(["token", "list", "iris", "--json"] + s)
            let tokens = try JSONDecoder().decode([TokenInfo].self, from: Data(r.out.utf8))
            #expect(tokens.count == 1 && tokens[0].uses == 2 && tokens[0].state == "used-up")
            r = try await runCLI(["token", "revoke", tokens[0].id.description] + s)
            #expect(r.status == 0 && r.out.contains("revoked"))
            r = try await runCLI(["node", "remove", "iris", "robot2"] + s)
            #expect(r.status == 0 && r.out.contains("removed robot2"))

            r = try await runCLI(["audit", "--team", "iris", "--json"] + s)
            let audit = try JSONDecoder().decode([AuditEvent].self, from: Data(r.out.utf8))
            #expect(audit.map(\.action) == ["team.create", "token.create", "node.enroll", "node.enroll", "team.ros-master", "token.revoke", "node.remove"])
            #expect(audit.allSatisfy { $0.team == "iris" })
        }

        @Test func errorsGoToStderrWithNonZeroExit() async throws {
            let dir = makeTempDir()
            let proc = try CoordinatorProcess(dir: dir, port: freePort())
            defer { proc.terminate() }
            try await proc.waitReady()
            let s = ["--state", dir]
            for (args, message) in [
                (["team", "create", "Iris"], "uppercase"),
                (["team", "create", "iris", "--cidr", "100.80.0.1/24"], "no host bits"),
                (["token", "create", "nosuchteam"], "no team named 'nosuchteam'"),
                (["token", "create", "iris", "--expires", "soon"], "not a duration"),
                (["node", "remove", "nosuchteam", "x"], "no team named"),
                (["token", "revoke", "xyz"], "not a token id"),
            ] {
                if args == ["token", "create", "nosuchteam"] { _ = try await runCLI(["team", "create", "iris"] + s) }
                let r = try await runCLI(args + s)
                #expect(r.status != 0, "\(args) should fail")
                #expect(r.err.contains(message), "\(args): stderr was \(r.err)")
                #expect(r.out.isEmpty)
            }
            let none = try await runCLI(["team", "list", "--state", dir + "/nope"])
            #expect(none.status != 0 && none.err.contains("no coordinator is running") && none.err.contains("teamwire coordinator serve"))
            let serve = try await runCLI(["coordinator", "serve", "--state", dir, "--listen", "0.0.0.0:7946"])
            #expect(serve.status != 0 && serve.err.contains("--public-endpoint is required"))
            // Tokens carry each endpoint with a one-byte length: refused at start, not a crash at the first token.
            let long = Array(repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "." + String(repeating: "b", count: 61) + ":7946"
            let tooLong = try await runCLI(["coordinator", "serve", "--state", dir, "--listen", "127.0.0.1:0", "--no-hub", "--public-endpoint", long])
            #expect(tooLong.status != 0 && tooLong.err.contains("at most 255 bytes (got 258)"), "\(tooLong.err)")
            let twice = try await runCLI(["coordinator", "serve", "--state", dir, "--listen", "127.0.0.1:0", "--no-hub"])
            #expect(twice.status != 0 && twice.err.contains("another coordinator is already running"))
            // A number no duration can hold is a usage error, not a trap (it trapped with exit 132).
            let token = try await runCLI(["token", "create", "iris"] + s)
            for wait in ["1e300", "inf", "nan", "-1", "3601"] {
                let r = try await runCLI(["join", token.out.trimmingCharacters(in: .whitespacesAndNewlines), "--wait=\(wait)", "--state", dir])
                #expect(r.status == 64 && r.err.contains("--wait must be 0...3600 seconds"), "--wait=\(wait): \(r.status) \(r.err)")
            }
        }

        @Test func hubOptionsAreCheckedBeforeAnythingStarts() async throws {
            let dir = makeTempDir()
            let serve = ["coordinator", "serve", "--state", dir, "--listen", "127.0.0.1:0"]
            var r = try await runCLI(serve + ["--hub-backend", "userspace", "--wireguard-go", "/nonexistent/wireguard-go"])
            #expect(r.status != 0 && r.err.contains("the hub needs wireguard-go") && r.err.contains("/nonexistent/wireguard-go") && r.err.contains("--no-hub"), "\(r.err)")
            r = try await runCLI(serve + ["--hub-backend", "fast"])
            #expect(r.status != 0 && r.err.contains("--hub-backend must be auto, kernel or userspace"), "\(r.err)")
            r = try await runCLI(serve + ["--hub-interface", "hub 0"])
            #expect(r.status != 0 && r.err.contains("--hub-interface 'hub 0' may only contain"), "\(r.err)")
            // Without root the hub cannot run, and the error says what to do.
            // (From a copy nobody may run: the checkout may sit under a private home.)
            let copy = makeTempDir()
            chmod(copy, 0o755)
            defer { try? FileManager.default.removeItem(atPath: copy) }
            try FileManager.default.copyItem(atPath: teamwireBinary(), toPath: copy + "/teamwire")
            // A process another test forks while the copy is open holds it for writing: retry "Text file busy".
            for _ in 0..<20 {
                r = try await runCLI(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", copy + "/teamwire"] + serve, executable: "/usr/bin/env")
                if !r.err.contains("Text file busy") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(r.status != 0 && r.err.contains("the hub needs root to create its WireGuard interface; run as root or pass --no-hub"), "\(r.err)")
            #expect(!FileManager.default.fileExists(atPath: dir + "/coordinator.db"))
        }

        @Test func everySubcommandHasHelp() async throws {
            for args in [[], ["coordinator", "serve"], ["team", "create"], ["team", "list"], ["token", "create"], ["token", "list"], ["token", "revoke"],
                         ["node", "list"], ["node", "remove"], ["node", "set-ros-master"], ["audit"]] {
                let r = try await runCLI(args + ["--help"])
                #expect(r.status == 0, "\(args) --help")
                #expect(r.out.contains("USAGE:"), "\(args) --help")
            }
        }
    }
}
