import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A daemon binary a test starts (teamwire-agent, `teamwire coordinator serve`): stdout to
/// /dev/null, stderr into a file created first, so its device and inode are known before the
/// daemon starts (JOURNAL_STREAM names them when systemd runs a unit). posix_spawn and
/// waitpid (the program looked up on PATH), like TestSupport's ChildProcess.
final class DaemonProcess: @unchecked Sendable {
    let pid: pid_t
    let stderrPath: String
    private var status: Int32?

    private init(pid: pid_t, stderrPath: String) {
        self.pid = pid
        self.stderrPath = stderrPath
    }

    /// Starts `argv` with the test's environment plus `environment`. With `journal`, stderr
    /// is "the journal": JOURNAL_STREAM names its file, as systemd does; without, the variable
    /// is removed (the test runner may itself run under systemd).
    static func start(_ argv: [String], environment: [String: String] = [:], journal: Bool = false) throws -> DaemonProcess {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("daemon-\(UUID().uuidString.prefix(8)).stderr").path
        guard FileManager.default.createFile(atPath: path, contents: nil) else { throw LogError("cannot create \(path)") }
        var st = stat()
        guard stat(path, &st) == 0 else { throw LogError("cannot stat \(path)") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, path, O_WRONLY | O_APPEND, 0)
        var env = ProcessInfo.processInfo.environment
        env["JOURNAL_STREAM"] = journal ? "\(st.st_dev):\(st.st_ino)" : nil
        env.merge(environment) { _, new in new }
        let cargv = argv.map { strdup($0) } + [nil]
        let cenv = env.map { strdup("\($0)=\($1)") } + [nil]
        defer { (cargv + cenv).forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, cargv, cenv)
        guard rc == 0 else { throw LogError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        return DaemonProcess(pid: pid, stderrPath: path)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    var isRunning: Bool {
        if status != nil { return false }
        var st: Int32 = 0
        if waitpid(pid, &st, WNOHANG) == pid { status = st }
        return status == nil
    }

    /// SIGTERM, then SIGKILL after 10 s; returns the exit code (128 + signal if killed) and
    /// removes the stderr file after handing back its text.
    @discardableResult
    func stop() -> (status: Int32, stderr: String) {
        if isRunning {
            kill(pid, SIGTERM)
            for _ in 0..<1000 where isRunning { usleep(10_000) }
            if isRunning {
                kill(pid, SIGKILL)
                var st: Int32 = 0
                while waitpid(pid, &st, 0) < 0, errno == EINTR {}
                status = st
            }
        }
        let s = status ?? 0
        let text = stderr
        unlink(stderrPath)
        return ((s & 0x7f) == 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f), text)
    }
}

struct LogError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
