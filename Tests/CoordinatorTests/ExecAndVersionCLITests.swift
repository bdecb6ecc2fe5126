import Foundation
import Testing
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

extension IntegrationTests {
    /// `teamwire exec` as a shell runs commands (help, exit codes 127 and 126), and
    /// `teamwire agent --version` through the daemon it replaces itself with.
    @Suite("exec and the agent's version")
    struct ExecAndVersionCLITests {
        @Test func execHelp() async throws {
            for args in [["exec", "--help"], ["exec", "-h"], ["exec", "--team", "iris", "--help"]] {
                let r = try await runCLI(args)
                #expect(r.status == 0, "\(args): \(r)")
                #expect(r.out.contains("OVERVIEW: Run a command") && r.out.contains("USAGE: teamwire exec"), "\(args): \(r.out)")
                #expect(r.err.isEmpty, "\(args): \(r.err)")
            }
        }

        @Test func execExitsAsAShellWould() async throws {
            let state = makeTempDir()
            defer { try? FileManager.default.removeItem(atPath: state) }
            try FileManager.default.createDirectory(atPath: state + "/ros/iris", withIntermediateDirectories: true)
            try "export ROS_DOMAIN_ID=7\n".write(toFile: state + "/ros/iris/ros.env", atomically: true, encoding: .utf8)
            let script = state + "/not-executable.sh"
            try "#!/bin/sh\necho hi\n".write(toFile: script, atomically: true, encoding: .utf8)
            chmod(script, 0o644)
            let exec = ["exec", "--state", state]

            // The command's own status, with the team's environment.
            var r = try await runCLI(exec + ["--", "sh", "-c", "echo $ROS_DOMAIN_ID; exit 3"])
            #expect(r.status == 3 && r.out == "7\n", "\(r)")
            for (command, status, message) in [
                ("tw-no-such-command", Int32(127), "cannot run tw-no-such-command: command not found (not on PATH)"),
                (state + "/nope/tw", 127, "cannot run \(state)/nope/tw: no such file"),
                // After "--" it is the command's name, not exec's option.
                ("--help", 127, "cannot run --help: command not found (not on PATH)"),
                (script, 126, "cannot run \(script): permission denied (not executable: chmod +x, or run it through its interpreter)"),
                (state, 126, "cannot run \(state): it is a directory"),
            ] {
                r = try await runCLI(exec + ["--", command])
                #expect(r.status == status && r.err == "Error: \(message)\n" && r.out.isEmpty, "\(command): \(r)")
            }
        }

        @Test func agentVersionAndHelp() async throws {
            let agent = URL(fileURLWithPath: teamwireBinary()).deletingLastPathComponent().appendingPathComponent("teamwire-agent").path
            for (args, executable) in [(["agent", "--version"], teamwireBinary()), (["--version"], agent)] {
                let r = try await runCLI(args, executable: executable)
                #expect(r.status == 0 && r.out == TeamwireVersion.string + "\n" && r.err.isEmpty, "\(args): \(r)")
            }
            let help = try await runCLI(["agent", "--help"])
            #expect(help.status == 0 && help.out.contains("USAGE: teamwire-agent"), "\(help)")
            for option in ["--socket-group", "--log-format", "--version"] { #expect(help.out.contains(option), "\(option)") }
        }
    }
}
