import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong in a test's lab (a command, a timeout, a missing host).
public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}

/// A program the tests run, stdin from /dev/null, stdout and stderr into a temporary file (a
/// chatty program never blocks on a full pipe). posix_spawn and waitpid rather than
/// Foundation's Process, whose exit monitoring was seen to miss a child that had exited.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let outPath: String

    private init(pid: pid_t, outPath: String) {
        self.pid = pid
        self.outPath = outPath
    }

    /// Starts `args` (looked up on the environment's PATH) with exactly `environment`.
    public static func start(_ args: [String], environment: [String: String]) throws -> ChildProcess {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString).out").path
        return ChildProcess(pid: try spawn(args, environment: environment, outPath: outPath), outPath: outPath)
    }

    /// Starts `args` with exactly `environment`, stdin from /dev/null, stdout and stderr into
    /// `outPath`; returns its pid. The child gets an empty signal mask and default handlers: the
    /// test process's threads block most signals and a child would inherit that, so cmake (libuv)
    /// never saw SIGCHLD, `sleep` ignored SIGTERM and util-linux `unshare --mount=FILE` failed at
    /// random (the campus lab's "mount /proc/N/ns/mnt ... Invalid argument").
    public static func spawn(_ args: [String], environment: [String: String], outPath: String) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attr, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGCHLD, SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = (["/usr/bin/env"] + args).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/env", &actions, &attr, argv, envp)
        guard rc == 0 else { throw LabError("cannot run \(args.joined(separator: " ")): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// Waits for the exit; the status is the exit code, or 128 + the signal that ended it.
    public func wait() -> (status: Int32, out: String) {
        let code = Self.wait(pid)
        let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        unlink(outPath)
        return (code, out)
    }

    /// Reaps `pid`: its exit code, or 128 + the signal that ended it.
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// Runs a command to completion with the test's environment plus `env`; with `check`, a
/// non-zero exit throws with the output.
@discardableResult
public func run(_ args: [String], env: [String: String] = [:], check: Bool = true) throws -> (status: Int32, out: String) {
    let r = try ChildProcess.start(args, environment: ProcessInfo.processInfo.environment.merging(env) { _, new in new }).wait()
    if check, r.status != 0 {
        throw LabError("\(args.joined(separator: " ")) failed (\(r.status)): \(r.out)")
    }
    return r
}
