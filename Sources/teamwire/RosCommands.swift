import AgentClient
import ArgumentParser
import Foundation
import RosBridge
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// Where a team's ROS outputs live, as `env` and `exec` find them: read straight from the
/// agent's state directory (STATE/ros/TEAM is world-readable), so an ordinary user's shell or
/// roslaunch needs neither root nor the agent socket.
struct RosTeamOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The agent's state directory.", valueName: "dir"))
    var state: String = AgentStateDirectory.defaultRoot

    @Option(help: "The team (default: the only team this node has joined).")
    var team: String?

    /// The env file of the chosen team.
    func envFile() throws -> String {
        let store = AgentStateDirectory(root: state)
        let joined = ((try? FileManager.default.contentsOfDirectory(atPath: store.rosRoot)) ?? [])
            .filter { FileManager.default.fileExists(atPath: store.rosDir($0) + "/ros.env") }.sorted()
        let name: String
        if let t = team {
            guard joined.contains(t) else {
                throw CLIError("no ROS environment for team \(t) in \(store.rosRoot)"
                    + (joined.isEmpty ? " (has this node joined it, and is the agent running?)" : "; teams here: \(joined.joined(separator: ", "))"))
            }
            name = t
        } else {
            guard let only = joined.first else {
                throw CLIError("no team's ROS environment in \(store.rosRoot): join a team first (`sudo teamwire join TOKEN`), with the agent running")
            }
            guard joined.count == 1 else { throw CLIError("this node is in several teams (\(joined.joined(separator: ", "))): pass --team TEAM") }
            name = only
        }
        return store.rosDir(name) + "/ros.env"
    }

    /// The file's variables in order; a nil value is one the file unsets.
    func entries() throws -> [(name: String, value: String?)] {
        let path = try envFile()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)") }
        do { return try RosEnvironment.entries(text) } catch { throw CLIError("\(path): \(error)") }
    }
}

/// `teamwire env`: the team's ROS environment as export lines for `eval "$(teamwire env)"`.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the team's ROS environment for the shell: eval \"$(teamwire env)\".",
        discussion: """
            ROS_IP, ROS_HOSTNAME and ROS_MASTER_URI (ROS 1) on the overlay; ROS_DOMAIN_ID,
            ROS_AUTOMATIC_DISCOVERY_RANGE and ROS_STATIC_PEERS (ROS 2); CYCLONEDDS_URI and
            FASTRTPS_DEFAULT_PROFILES_FILE / FASTDDS_DEFAULT_PROFILES_FILE pointing at the DDS files
            with the team's members as unicast peers. The agent keeps them current as members come
            and go; DDS reads its file when a process starts, so start ROS after joining.
            """
    )

    @OptionGroup var options: RosTeamOptions

    func run() throws {
        let path = try options.envFile()
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)") }
        print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
    }
}

/// `teamwire exec -- CMD ...`: runs a command with the team's ROS environment.
struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command (roslaunch, ros2 launch, ...) with the team's ROS environment.",
        discussion: """
            Example: teamwire exec -- roslaunch my_robot bringup.launch
            The command replaces teamwire (same process, its exit status is the command's). As in
            a shell, a command that is not found exits 127, one that cannot be run 126.
            """
    )

    @OptionGroup var options: RosTeamOptions

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func run() throws {
        var argv = command
        // Everything after exec's own options is captured, -h and --help too: they are exec's
        // unless they follow "--" (`teamwire exec -- --help` runs a program named --help).
        if let first = argv.first, ["-h", "--help"].contains(first) {
            print(Teamwire.helpMessage(for: Self.self))
            return
        }
        if argv.first == "--" { argv.removeFirst() }
        guard let program = argv.first else { throw CLIError("exec needs a command: teamwire exec -- COMMAND [ARGS...]") }
        for (name, value) in try options.entries() {
            if let value { setenv(name, value, 1) } else { unsetenv(name) }
        }
        let cargs = argv.map { strdup($0) } + [nil]
        execvp(program, cargs)
        let (why, status) = Self.failure(program, errno: errno)
        FileHandle.standardError.write(Data("Error: \(why)\n".utf8))
        throw ExitCode(status)
    }

    /// What a shell says and exits with when `program` cannot be run: 127 when it is not found,
    /// 126 when it is found but cannot be executed.
    static func failure(_ program: String, errno e: Int32) -> (String, Int32) {
        switch e {
        case ENOENT, ENOTDIR:
            return program.contains("/") ? ("cannot run \(program): no such file", 127)
                                         : ("cannot run \(program): command not found (not on PATH)", 127)
        case EACCES:
            var st = stat()
            if program.contains("/"), stat(program, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { return ("cannot run \(program): it is a directory", 126) }
            return ("cannot run \(program): permission denied (not executable: chmod +x, or run it through its interpreter)", 126)
        default:
            return ("cannot run \(program): \(String(cString: strerror(e)))", 126)
        }
    }
}
