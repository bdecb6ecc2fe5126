import Agent
import Logging
import Testing
import WireGuardControl

/// teamwire-agent's hand-written command line: every option, both spellings, and clear errors.
@Suite struct AgentOptionsTests {
    struct NotRun: Error {}

    func options(_ args: [String]) throws -> AgentOptions {
        guard case .run(let o) = try AgentOptions.parse(args) else { throw NotRun() }
        return o
    }

    func error(_ args: [String]) -> String? {
        do { _ = try AgentOptions.parse(args); return nil } catch { return error.description }
    }

    @Test func defaults() throws {
        let o = try options([])
        #expect(o == AgentOptions())
        #expect(o.state == "/var/lib/teamwire" && o.backend == .automatic && o.wireguardGo == nil)
        #expect(o.mdns && o.rosParticipants == 32 && o.logLevel == .info)
        #expect(o.logFormat == .text && o.socketGroup == "teamwire" && o.machineIDFile == "/etc/machine-id")
    }

    @Test func everyOptionInBothSpellings() throws {
        let spaced = try options(["--state", "/tmp/s", "--backend", "userspace", "--wireguard-go", "/usr/bin/wireguard-go",
                                  "--no-mdns", "--ros-participants", "8", "--log-level", "debug", "--log-format", "json", "--socket-group", "robots",
                                  "--machine-id-file", "/tmp/id"])
        let joined = try options(["--state=/tmp/s", "--backend=userspace", "--wireguard-go=/usr/bin/wireguard-go",
                                  "--no-mdns", "--ros-participants=8", "--log-level=debug", "--log-format=json", "--socket-group=robots", "--machine-id-file=/tmp/id"])
        #expect(spaced == joined)
        #expect(spaced.state == "/tmp/s" && spaced.backend == .userspace && spaced.wireguardGo == "/usr/bin/wireguard-go")
        #expect(!spaced.mdns && spaced.rosParticipants == 8 && spaced.logLevel == .debug)
        #expect(spaced.logFormat == .json && spaced.socketGroup == "robots" && spaced.machineIDFile == "/tmp/id")
        // The last of a repeated option wins; a value may contain '='.
        #expect(try options(["--backend", "kernel", "--backend", "auto"]).backend == .automatic)
        #expect(try options(["--state=/tmp/a=b"]).state == "/tmp/a=b")
    }

    @Test func help() throws {
        #expect(try AgentOptions.parse(["--help"]) == .help)
        #expect(try AgentOptions.parse(["--backend", "kernel", "-h"]) == .help)
        #expect(try AgentOptions.parse(["--version"]) == .version)
        for option in ["--state", "--backend", "--wireguard-go", "--no-mdns", "--ros-participants", "--socket-group", "--log-level", "--log-format",
                       "--machine-id-file", "--version", "--help"] {
            #expect(AgentOptions.usage.contains(option))
        }
    }

    @Test func clearErrors() {
        #expect(error(["--backend", "bogus"]) == "--backend must be auto, kernel or userspace (got 'bogus')")
        #expect(error(["--ros-participants", "0"]) == "--ros-participants must be 1...120 (got 0)")
        #expect(error(["--ros-participants=121"]) == "--ros-participants must be 1...120 (got 121)")
        #expect(error(["--ros-participants", "many"]) == "--ros-participants must be 1...120 (got many)")
        #expect(error(["--log-level", "loud"]) == "unknown --log-level 'loud'")
        #expect(error(["--log-format", "xml"]) == "--log-format must be text or json (got 'xml')")
        #expect(error(["--socket-group="]) == "--socket-group must not be empty")
        #expect(error(["--machine-id-file="]) == "--machine-id-file must not be empty")
        #expect(error(["--state"]) == "missing value for '--state'")
        #expect(error(["--state="]) == "--state must not be empty")
        #expect(error(["--no-mdns=yes"]) == "--no-mdns takes no value")
        #expect(error(["--frobnicate"]) == "unknown option '--frobnicate'")
        #expect(error(["robot1"]) == "unknown option 'robot1'")
    }
}
