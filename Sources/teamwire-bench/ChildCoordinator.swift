import AsyncHTTPClient
import CoordinatorClient
import Dispatch
import Foundation
import Synchronization
import TeamwireCore
#if canImport(Glibc)
import Glibc
#endif

/// The real `teamwire coordinator serve` binary as a child process, with a fresh state directory
/// (real SQLite file) in the temp directory. `stop()` terminates it and removes the directory; a
/// SIGINT/SIGTERM to the benchmark does the same before exiting.
final class ChildCoordinator: @unchecked Sendable {
    let process = Process()
    let dir: String
    let logPath: String
    let port: Int
    let binary: String

    init() throws {
        let bin = ProcessInfo.processInfo.environment["TEAMWIRE_BIN"]
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().appendingPathComponent("teamwire").path
        guard FileManager.default.isExecutableFile(atPath: bin) else {
            throw BenchError("teamwire binary not found at \(bin): build it first (swift build -c release --product teamwire) or set TEAMWIRE_BIN")
        }
        binary = bin
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("teamwire-bench-\(UUID().uuidString.prefix(8))").path
        logPath = dir + ".log"
        port = freeLoopbackPort()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: bin)
        process.arguments = ["coordinator", "serve", "--state", dir, "--listen", "127.0.0.1:\(port)", "--no-hub", "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logPath)
        Cleanup.register(dir: dir, log: logPath)
        try process.run()
        Cleanup.setPID(process.processIdentifier)
    }

    var pid: Int32 { process.processIdentifier }
    var endpoint: Endpoint { Endpoint("127.0.0.1:\(port)")! }
    var socketPath: String { dir + "/admin.sock" }

    func admin(http: HTTPClient) -> AdminClient { AdminClient(socketPath: socketPath, actor: "bench") }

    /// Waits until the admin socket answers (the public port binds at the same time; checked by the caller's first request).
    func waitReady(_ admin: AdminClient) async throws {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(30) {
            guard process.isRunning else { break }
            if (try? await admin.info()) != nil { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("the coordinator did not become ready: \(logTail())")
    }

    func logTail() -> String {
        let s = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return String(s.suffix(2000))
    }

    /// Resident and peak resident memory of the coordinator (KiB), from /proc/PID/status.
    func memory() -> (rssKiB: Int, hwmKiB: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func field(_ name: String) -> Int {
            for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
                return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
            }
            return -1
        }
        return (field("VmRSS"), field("VmHWM"))
    }

    /// Open file descriptors of the coordinator (sockets included).
    func openFDs() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// User + system CPU time the coordinator has used, in seconds (clock-tick resolution).
    func cpuSeconds() -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return -1 }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        guard rest.count > 13, let u = Double(rest[11]), let s = Double(rest[12]) else { return -1 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    func stop() {
        Cleanup.run()
    }
}

/// Terminates the child and removes its files: from `stop()`, from a signal handler, or at exit.
enum Cleanup {
    struct State: Sendable {
        var pid: Int32 = 0
        var dir: String?
        var log: String?
    }

    static let state = Mutex(State())
    static let installed = Mutex<[DispatchSourceSignal]>([])

    static func register(dir: String, log: String) {
        state.withLock { $0.dir = dir; $0.log = log }
        installSignalHandlers()
    }

    static func setPID(_ pid: Int32) { state.withLock { $0.pid = pid } }

    /// Idempotent: SIGTERM the child, SIGKILL it if it has not exited after 5 s, reap it, remove the files.
    static func run() {
        let s = state.withLock { s -> State in
            let copy = s
            s = State()
            return copy
        }
        if s.pid > 0 {
            kill(s.pid, SIGTERM)
            var status: Int32 = 0
            var exited = false
            for _ in 0..<500 {
                let r = waitpid(s.pid, &status, WNOHANG)
                if r == s.pid || r < 0 { exited = true; break }
                usleep(10_000)
            }
            if !exited {
                kill(s.pid, SIGKILL)
                _ = waitpid(s.pid, &status, 0)
            }
        }
        if let d = s.dir { try? FileManager.default.removeItem(atPath: d) }
        if let l = s.log { try? FileManager.default.removeItem(atPath: l) }
    }

    static func installSignalHandlers() {
        installed.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM, SIGHUP] {
                signal(sig, SIG_IGN)
                let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                src.setEventHandler {
                    FileHandle.standardError.write(Data("teamwire-bench: signal \(sig), stopping the coordinator\n".utf8))
                    Cleanup.run()
                    exit(128 + sig)
                }
                src.resume()
                sources.append(src)
            }
            atexit { Cleanup.run() }
        }
    }
}

/// A free TCP port on loopback (bound, then released for the child to take).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Raises the soft limit on open files to the hard limit (the child inherits it). Returns the new soft limit.
@discardableResult
func raiseFileLimit() -> Int {
    var l = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    l.rlim_cur = l.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l)
    return Int(l.rlim_cur)
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
