import AgentClient
import Logging
import TeamwireLogging
import WireGuardControl

/// teamwire-agent's command line. Parsed by hand, not with ArgumentParser: the daemon stays up
/// on every robot, and ArgumentParser's reflection-driven parsing keeps about 1 MiB of code and
/// metadata resident for seven options.
public struct AgentOptions: Equatable, Sendable {
    public var state = AgentStateDirectory.defaultRoot
    public var backend = BackendChoice.automatic
    public var wireguardGo: String?
    public var mdns = true
    public var rosParticipants = 32
    /// The Fast DDS discovery server command (and leading arguments), for a team that names this node.
    public var discoveryServerCommand = ["fast-discovery-server"]
    public var logLevel = Logger.Level.info
    public var logFormat = LogFormat.text
    /// Members of this group may use agent.sock (read the status) when the group exists.
    public var socketGroup = AgentStateDirectory.defaultSocketGroup
    /// The machine id whose hash the agent reports (tests give each lab host its own).
    public var machineIDFile = "/etc/machine-id"

    public init() {}

    /// What the command line asks for.
    public enum Request: Equatable, Sendable {
        case run(AgentOptions)
        case help
        case version
    }

    public struct UsageError: Error, CustomStringConvertible, Equatable {
        public var description: String
    }

    public static let synopsis = "teamwire-agent [--state <dir>] [--backend <backend>] [--wireguard-go <path>] [--no-mdns] [--ros-participants <n>] [--discovery-server-command <cmd>] [--socket-group <name>] [--machine-id-file <path>] [--log-level <log-level>] [--log-format text|json]"

    public static let usage = """
        OVERVIEW: Run the node's daemon: owns the WireGuard interfaces and keeps every joined team in sync.

        Run it under systemd (config/teamwire-agent.service), from roslaunch, or in a terminal.
        Teams joined before come back up from the state directory at once, even when the
        coordinator is unreachable. Stopping the agent leaves the tunnels up; the next start
        adopts them. `teamwire join`, `status` and `leave` talk to it through agent.sock.

        USAGE: \(synopsis)

        OPTIONS:
          --state <dir>           The agent's state directory (its socket lives there). (default: \(AgentStateDirectory.defaultRoot))
          --backend <backend>     WireGuard backend: auto (kernel module if present, else wireguard-go), kernel or
                                  userspace. (default: auto)
          --wireguard-go <path>   Path of wireguard-go (default: found on PATH).
          --no-mdns               Do not publish members' names and the ROS master on the local avahi-daemon.
          --ros-participants <n>  DDS participants (ROS 2 processes) per member that the generated DDS files let
                                  discovery find. (default: 32)
          --discovery-server-command <cmd>
                                  The Fast DDS discovery server this agent runs when its team names this node
                                  (teamwire team set TEAM --ros-discovery server --discovery-server NAME): a
                                  program and leading arguments, split at spaces; the agent appends
                                  -i 0 -l ADDR -p 11811 -x PROFILE. Fast DDS 3: "fastdds discovery".
                                  (default: fast-discovery-server, found on PATH)
          --socket-group <name>   Members of this group may read the status through agent.sock (0660), when the
                                  group exists; else the socket is root's alone. (default: \(AgentStateDirectory.defaultSocketGroup))
          --machine-id-file <path>
                                  The machine id whose keyed hash is reported to the coordinator (never the id
                                  itself), so that members cloned from one image are named. (default: /etc/machine-id)
          --log-level <log-level> trace, debug, info, notice, warning, error or critical. (default: info)
          --log-format <format>   text (millisecond times; priority prefixes instead under systemd) or json (one
                                  object per line). (default: text)
          --version               Show the version.
          -h, --help              Show help information.

        """

    /// Parses `arguments` (without the program name). Accepts `--name value` and `--name=value`.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Request {
        var options = AgentOptions()
        var rest = arguments[...]
        while let word = rest.popFirst() {
            let name: Substring
            var inline: Substring?
            if let eq = word.firstIndex(of: "="), word.hasPrefix("--") {
                name = word[..<eq]
                inline = word[word.index(after: eq)...]
            } else {
                name = word[...]
            }
            func value() throws(UsageError) -> String {
                if let inline { return String(inline) }
                guard let next = rest.popFirst() else { throw UsageError(description: "missing value for '\(name)'") }
                return next
            }
            switch name {
            case "-h", "--help":
                return .help
            case "--version":
                return .version
            case "--state":
                options.state = try value()
                guard !options.state.isEmpty else { throw UsageError(description: "--state must not be empty") }
            case "--backend":
                let v = try value()
                guard let b = BackendChoice(rawValue: v) else {
                    throw UsageError(description: "--backend must be auto, kernel or userspace (got '\(v)')")
                }
                options.backend = b
            case "--wireguard-go":
                options.wireguardGo = try value()
            case "--no-mdns":
                guard inline == nil else { throw UsageError(description: "--no-mdns takes no value") }
                options.mdns = false
            case "--ros-participants":
                // CycloneDDS and Fast DDS probe every index on every peer: the range is each peer's cost.
                let v = try value()
                guard let n = Int(v), (1...120).contains(n) else {
                    throw UsageError(description: "--ros-participants must be 1...120 (got \(v))")
                }
                options.rosParticipants = n
            case "--discovery-server-command":
                let words = try value().split(separator: " ").map(String.init)
                guard !words.isEmpty else { throw UsageError(description: "--discovery-server-command must not be empty") }
                options.discoveryServerCommand = words
            case "--log-level":
                let v = try value()
                guard let level = Logger.Level(rawValue: v) else { throw UsageError(description: "unknown --log-level '\(v)'") }
                options.logLevel = level
            case "--log-format":
                let v = try value()
                guard let format = LogFormat(rawValue: v) else { throw UsageError(description: "--log-format must be text or json (got '\(v)')") }
                options.logFormat = format
            case "--machine-id-file":
                options.machineIDFile = try value()
                guard !options.machineIDFile.isEmpty else { throw UsageError(description: "--machine-id-file must not be empty") }
            case "--socket-group":
                options.socketGroup = try value()
                guard !options.socketGroup.isEmpty else { throw UsageError(description: "--socket-group must not be empty") }
            default:
                throw UsageError(description: "unknown option '\(word)'")
            }
        }
        return .run(options)
    }
}
