import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A wireguard-go process serving one interface, started in the foreground as our child so
/// its death is noticed. It is deliberately not killed when this object goes away: tunnels
/// outlive an agent restart, and the next agent adopts the interface through its socket.
public final class WireGuardGo: Sendable {
    public let interfaceName: String
    public let pid: pid_t
    public let logPath: String
    private let exit = Mutex<Int32?>(nil)

    private init(interfaceName: String, pid: pid_t, logPath: String) {
        self.interfaceName = interfaceName
        self.pid = pid
        self.logPath = logPath
    }

    /// Finds wireguard-go: an explicit path, else $PATH, else the usual places.
    public static func locate(_ explicit: String? = nil) throws -> String {
        if let e = explicit {
            guard access(e, X_OK) == 0 else { throw WireGuardError.wireguardGoMissing(e) }
            return e
        }
        let path = (getenv("PATH").map { String(cString: $0) } ?? "") + ":/usr/bin:/usr/local/bin:/usr/sbin"
        for dir in path.split(separator: ":") where access("\(dir)/wireguard-go", X_OK) == 0 {
            return "\(dir)/wireguard-go"
        }
        throw WireGuardError.wireguardGoMissing("$PATH, /usr/bin, /usr/local/bin")
    }

    /// Starts `wireguard-go -f NAME` and waits until its UAPI socket answers. `prefix` runs it
    /// through another command first (e.g. `nsenter --net=...` to place it in a namespace).
    public static func start(
        interface: String, executable: String? = nil, prefix: [String] = [],
        socketDirectory: String = UserspaceBackend.defaultSocketDirectory, logPath: String? = nil,
        timeout: Duration = .seconds(10)
    ) throws -> WireGuardGo {
        let binary = try locate(executable)
        let log = logPath ?? "/tmp/teamwire-wireguard-go-\(interface).log"
        let argv = prefix.isEmpty ? [binary, "-f", interface] : prefix + [binary, "-f", interface]
        let pid = try spawn(argv, log: log)
        let proc = WireGuardGo(interfaceName: interface, pid: pid, logPath: log)
        let backend = UserspaceBackend(interfaceName: interface, socketDirectory: socketDirectory)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !proc.isRunning {
                throw WireGuardError.wireguardGoFailed(interface: interface, detail: "exited with status \(proc.exitStatus ?? -1): \(proc.logTail())")
            }
            if backend.isResponding { return proc }
            usleep(10_000)
        }
        proc.stop()
        throw WireGuardError.wireguardGoFailed(interface: interface, detail: "its control socket \(backend.socketPath) did not answer within \(timeout): \(proc.logTail())")
    }

    /// Whether the process is still alive (reaps it if it exited).
    public var isRunning: Bool {
        exit.withLock { status in
            if status != nil { return false }
            var st: Int32 = 0
            let r = waitpid(pid, &st, WNOHANG)
            if r == pid {
                status = st
                return false
            }
            return r == 0
        }
    }

    /// The raw wait status once it has exited.
    public var exitStatus: Int32? { _ = isRunning; return exit.withLock { $0 } }

    /// Stops it (SIGTERM, then SIGKILL after 3 s); wireguard-go removes its interface on exit.
    public func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<300 {
            if !isRunning { return }
            usleep(10_000)
        }
        kill(pid, SIGKILL)
        exit.withLock { status in
            var st: Int32 = 0
            if status == nil, waitpid(pid, &st, 0) == pid { status = st }
        }
    }

    /// The last lines wireguard-go wrote, for error messages.
    public func logTail(_ maxBytes: Int = 400) -> String {
        let fd = open(logPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "(no log)" }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = read(fd, &buf, buf.count)
        guard n > 0 else { return "(no output)" }
        let text = String(decoding: buf[0..<n], as: UTF8.self).split(whereSeparator: \.isNewline).joined(separator: " | ")
        return String(text.suffix(maxBytes))
    }

    static func spawn(_ argv: [String], log: String) throws -> pid_t {
        switch ChildSpawn.start(argv, log: log) {
        case .success(let pid):
            return pid
        case .failure(let f):
            if f.errno == ENOENT { throw WireGuardError.wireguardGoMissing(argv[0]) }
            throw WireGuardError.system(operation: "starting \(argv.joined(separator: " "))", errno: f.errno)
        }
    }
}
