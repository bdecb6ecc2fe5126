import CAvahi
import Foundation
import Glibc
import Logging
import Synchronization
import TeamwireCore
import TestSupport

/// A private system D-Bus and avahi-daemon that leave the host's own alone.
///
/// Two network namespaces joined by a veth pair (192.0.2.0/24): `home` is the machine the
/// publisher runs on, `peer` is another host on the same LAN, with a bus and daemon of its own.
/// - dbus-daemon runs in the root namespaces: `dbus-daemon --config-file=DIR/SIDE/bus.conf
///   --nofork --nopidfile`, a system-bus config listening on `unix:path=DIR/SIDE/bus` with the
///   policy of Debian's system.conf and `<includedir>/usr/share/dbus-1/system.d` (avahi's
///   policy: root may own org.freedesktop.Avahi). A unix path socket is reachable from any
///   network namespace.
/// - avahi-daemon, with `DBUS_SYSTEM_BUS_ADDRESS=unix:path=DIR/SIDE/bus`: `ip netns exec NS
///   unshare --mount --propagation private sh -c 'mount -t tmpfs tmpfs /run && mkdir
///   /run/avahi-daemon && { avahi-daemon --no-drop-root --no-chroot -f DIR/SIDE/avahi.conf &
///   echo $! >DIR/SIDE/avahi.pid; wait $!; }'`. Its fixed pid file and socket land on a tmpfs
///   only it sees, which vanishes with it. The shell stays its parent because avahi-daemon
///   closes every inherited descriptor at startup, which Foundation's Process takes for the
///   child's exit (it then blocks in waitpid and reaps no other Process); the daemon is
///   signalled through the pid file.
/// - Everything is started through perl to clear the signal mask (see `spawn`).
/// - The test process cannot enter that mount namespace and needs not: libdbus (so
///   libavahi-client) honours DBUS_SYSTEM_BUS_ADDRESS; see `pointedAtLab`. Avahi's tools run
///   as `ip netns exec home avahi-resolve ...` with the variable set to the home bus.
/// Everything is killed and removed on exit, failure included.
final class AvahiLab: @unchecked Sendable {
    enum Side: String { case home, peer }

    /// One directory per test process: the bus address the publisher sees never changes, and
    /// libdbus reads the variable only once. Suites using it must be serialized.
    static let directory = "/tmp/teamwire-avahi-\(getpid())"
    static func busPath(_ side: Side) -> String { "\(directory)/\(side.rawValue)/bus" }

    /// Points this process's system bus at the lab's home bus, before any Avahi client exists.
    /// libdbus reads DBUS_SYSTEM_BUS_ADDRESS once per process, at the first system-bus
    /// connection: a throwaway client makes that happen now, and the variable is put back at
    /// once, so processes that other suites start do not inherit the lab's bus. (Were libdbus
    /// to read it again later, the publisher would talk to the host's bus and every lab test
    /// would fail, not pass wrongly.)
    static let pointedAtLab: Bool = {
        let name = "DBUS_SYSTEM_BUS_ADDRESS"
        let previous = getenv(name).map { String(cString: $0) }
        setenv(name, "unix:path=\(busPath(.home))", 1)
        if let poll = avahi_simple_poll_new() {
            var error: Int32 = 0
            if let client = avahi_client_new(avahi_simple_poll_get(poll), AVAHI_CLIENT_NO_FAIL, nil, nil, &error) {
                avahi_client_free(client)
            }
            avahi_simple_poll_free(poll)
        }
        if let previous { setenv(name, previous, 1) } else { unsetenv(name) }
        return true
    }()

    let tag: String
    private struct Spawned {
        var process: Process
        /// The pid to signal when it is not the direct child's.
        var pidFile: String?
    }
    private let processes = Mutex<[String: Spawned]>([:])
    private var namespaces: [String] = []

    private init() {
        tag = String(getpid() % 10000) + String(Int.random(in: 0..<100))
    }

    func ns(_ side: Side) -> String { "tav\(tag)-\(side.rawValue.prefix(1))" }
    func address(_ side: Side) -> String { side == .home ? "192.0.2.10" : "192.0.2.20" }
    /// The daemon's own host name (without ".local").
    func hostName(_ side: Side) -> String { "tav\(tag)\(side.rawValue)" }

    /// Builds the namespaces; starts home's bus and daemon unless told not to; always tears down.
    static func with<R>(startHome: Bool = true, _ body: (AvahiLab) async throws -> R) async throws -> R {
        precondition(pointedAtLab)
        guard getuid() == 0 else { throw LabError("the Avahi tests need root (network namespaces, mounts, daemons)") }
        let lab = AvahiLab()
        defer { lab.teardown() }
        do {
            try lab.build()
            if startHome {
                try lab.startBus(.home)
                try lab.startDaemon(.home)
            }
            return try await body(lab)
        } catch {
            lab.printLogs()
            throw error
        }
    }

    private func build() throws {
        try? FileManager.default.removeItem(atPath: Self.directory)
        for side in [Side.home, .peer] {
            try FileManager.default.createDirectory(atPath: "\(Self.directory)/\(side.rawValue)", withIntermediateDirectories: true)
            try sh(["ip", "netns", "add", ns(side)])
            namespaces.append(ns(side))
        }
        try sh(["ip", "link", "add", "eth0", "netns", ns(.home), "type", "veth", "peer", "name", "eth0", "netns", ns(.peer)])
        for side in [Side.home, .peer] {
            try sh(["ip", "-n", ns(side), "addr", "add", "\(address(side))/24", "dev", "eth0"])
            try sh(["ip", "-n", ns(side), "link", "set", "eth0", "up"])
            try sh(["ip", "-n", ns(side), "link", "set", "lo", "up"])
        }
    }

    func teardown() {
        for name in processes.withLock({ Array($0.keys) }) { stop(name, signal: SIGKILL) }
        for name in namespaces { _ = try? sh(["ip", "netns", "del", name], check: false) }
        namespaces = []
        try? FileManager.default.removeItem(atPath: Self.directory)
    }

    // MARK: daemons

    func startBus(_ side: Side) throws {
        let dir = "\(Self.directory)/\(side.rawValue)"
        try? FileManager.default.removeItem(atPath: Self.busPath(side))
        try Self.busConfig(listen: Self.busPath(side)).write(toFile: "\(dir)/bus.conf", atomically: true, encoding: .utf8)
        try spawn("\(side)-dbus", ["dbus-daemon", "--config-file=\(dir)/bus.conf", "--nofork", "--nopidfile"], log: "\(dir)/dbus.log")
        try waitFor("\(side) D-Bus socket") { FileManager.default.fileExists(atPath: Self.busPath(side)) }
    }

    func startDaemon(_ side: Side) throws {
        let dir = "\(Self.directory)/\(side.rawValue)"
        try Self.avahiConfig(hostName: hostName(side)).write(toFile: "\(dir)/avahi.conf", atomically: true, encoding: .utf8)
        let log = "\(dir)/avahi.log", pidFile = "\(dir)/avahi.pid"
        try? FileManager.default.removeItem(atPath: log)
        try? FileManager.default.removeItem(atPath: pidFile)
        try spawn("\(side)-avahi", ["ip", "netns", "exec", ns(side), "unshare", "--mount", "--propagation", "private", "sh", "-c",
                                    "mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && { avahi-daemon --no-drop-root --no-chroot -f \(dir)/avahi.conf & echo $! >\(pidFile); wait $!; }"],
                  env: ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=\(Self.busPath(side))"], log: log, pidFile: pidFile)
        try waitFor("\(side) avahi-daemon startup") {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("Server startup complete")
        }
    }

    /// Stops a spawned process (`home-avahi`, `peer-dbus`, ...) and waits for it to exit.
    func stop(_ name: String, signal: Int32 = SIGTERM) {
        guard let spawned = processes.withLock({ $0.removeValue(forKey: name) }) else { return }
        if let pidFile = spawned.pidFile {
            // The shell writes the pid a moment after it starts the daemon.
            for _ in 0..<100 where spawned.process.isRunning {
                if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                    kill(pid, signal)
                    break
                }
                usleep(50_000)
            }
        } else if spawned.process.isRunning {
            kill(spawned.process.processIdentifier, signal)
        }
        spawned.process.waitUntilExit()
    }

    /// Runs `command` in `side`'s namespace against `side`'s bus until stopped; returns its log path.
    @discardableResult
    func spawnClient(_ name: String, on side: Side, _ command: [String]) throws -> String {
        let log = "\(Self.directory)/\(side.rawValue)/\(name).log"
        try spawn(name, ["ip", "netns", "exec", ns(side)] + command, env: ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=\(Self.busPath(side))"], log: log)
        return log
    }

    private func spawn(_ name: String, _ args: [String], env: [String: String] = [:], log: String, pidFile: String? = nil) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/perl")
        // Foundation starts children with the spawning thread's signal mask, and Swift's
        // concurrency threads block nearly every signal: a daemon started that way never sees
        // SIGTERM. perl-base (Essential on Debian) clears the mask, then execs.
        p.arguments = ["-MPOSIX", "-e", "sigprocmask(SIG_SETMASK, POSIX::SigSet->new) or die; exec @ARGV or die", "--"] + args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        try? handle.close()
        processes.withLock { $0[name] = Spawned(process: p, pidFile: pidFile) }
    }

    private func waitFor(_ what: String, seconds: Double = 15, _ ok: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while !ok() {
            guard Date() < deadline else { throw LabError("timed out waiting for \(what)") }
            usleep(50_000)
        }
    }

    func printLogs() {
        for side in [Side.home, .peer] {
            let dir = "\(Self.directory)/\(side.rawValue)"
            for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".log") {
                let text = (try? String(contentsOfFile: "\(dir)/\(file)", encoding: .utf8)) ?? ""
                print("--- \(side) \(file)\n" + text.split(separator: "\n").suffix(30).joined(separator: "\n"))
            }
        }
    }

    // MARK: what the network sees (Avahi's own tools, in the home namespace, on the home bus)

    private var toolEnvironment: [String: String] { ["DBUS_SYSTEM_BUS_ADDRESS": "unix:path=\(Self.busPath(.home))"] }

    /// `avahi-resolve -4 -n` for each name, all at once (a miss takes avahi-resolve's 5 s timeout).
    func resolve(_ names: [String]) throws -> [String: IPv4Address] {
        let runs = try names.map { name in
            try start(["ip", "netns", "exec", ns(.home), "avahi-resolve", "-4", "-n", name], env: toolEnvironment)
        }
        var out: [String: IPv4Address] = [:]
        for (name, run) in zip(names, runs) {
            let (status, text) = run.wait()
            guard status == 0 else { continue }
            let fields = text.split(whereSeparator: { $0 == "\t" || $0 == "\n" })
            if fields.count >= 2, let address = IPv4Address(String(fields[1])) { out[name] = address }
        }
        return out
    }

    /// Retries until every name resolves to its address and every name in `gone` fails to.
    func expectResolution(_ want: [String: IPv4Address], gone: [String] = [], seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [String: IPv4Address] = [:]
        while Date() < deadline {
            last = try resolve(Array(want.keys) + gone)
            if want.allSatisfy({ last[$0.key] == $0.value }), gone.allSatisfy({ last[$0] == nil }) { return }
            usleep(300_000)
        }
        throw LabError("resolution never matched: wanted \(want), gone \(gone); avahi-resolve gave \(last)")
    }

    struct Browsed: Equatable {
        var name: String
        var host: String
        var address: String
        var port: UInt16
        var txt: [String]
    }

    /// `avahi-browse -rpt TYPE`: the resolved ("=") lines.
    func browse(_ type: String) throws -> [Browsed] {
        let (_, text) = try start(["ip", "netns", "exec", ns(.home), "avahi-browse", "-rpt", type], env: toolEnvironment).wait()
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 10, f[0] == "=", let port = UInt16(f[8]) else { return nil }
            let txt = f[9...].joined(separator: ";").split(separator: "\" \"").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }.filter { !$0.isEmpty }
            return Browsed(name: Self.unescape(f[3]), host: f[6], address: f[7], port: port, txt: txt)
        }
    }

    /// avahi-browse escapes service names as \DDD (decimal).
    static func unescape(_ s: String) -> String {
        var out = ""
        var chars = Array(s)[...]
        while let c = chars.popFirst() {
            if c == "\\", chars.count >= 3, let code = UInt8(String(chars.prefix(3))) {
                out.append(Character(UnicodeScalar(code)))
                chars = chars.dropFirst(3)
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Retries `browse` until `ok` holds for it.
    @discardableResult
    func expectBrowse(_ type: String, seconds: Double = 20, _ ok: ([Browsed]) -> Bool) throws -> [Browsed] {
        let deadline = Date().addingTimeInterval(seconds)
        var last: [Browsed] = []
        while Date() < deadline {
            last = try browse(type)
            if ok(last) { return last }
            usleep(300_000)
        }
        throw LabError("avahi-browse \(type) never matched; last saw \(last)")
    }

    // MARK: configuration

    /// Debian's system.conf policy (deny by default, services' own files punch holes), without
    /// the messagebus user, the launch helper or syslog.
    static func busConfig(listen path: String) -> String {
        """
        <!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
         "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
        <busconfig>
          <type>system</type>
          <listen>unix:path=\(path)</listen>
          <auth>EXTERNAL</auth>
          <policy context="default">
            <allow user="*"/>
            <deny own="*"/>
            <deny send_type="method_call"/>
            <allow send_type="signal"/>
            <allow send_requested_reply="true" send_type="method_return"/>
            <allow send_requested_reply="true" send_type="error"/>
            <allow receive_type="method_call"/>
            <allow receive_type="method_return"/>
            <allow receive_type="error"/>
            <allow receive_type="signal"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
            <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
          </policy>
          <includedir>/usr/share/dbus-1/system.d</includedir>
        </busconfig>
        """
    }

    static func avahiConfig(hostName: String) -> String {
        """
        [server]
        host-name=\(hostName)
        use-ipv4=yes
        use-ipv6=no
        allow-interfaces=eth0
        enable-dbus=yes
        [wide-area]
        enable-wide-area=no
        [publish]
        publish-hinfo=no
        publish-workstation=no
        """
    }
}

/// A command started in the background; `wait()` collects its status and output.
struct Run {
    let process: Process
    let pipe: Pipe

    func wait() -> (Int32, String) {
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}

func start(_ args: [String], env: [String: String] = [:], stderr: Bool = false) throws -> Run {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = stderr ? pipe : FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    return Run(process: p, pipe: pipe)
}

/// Collects log lines so tests can assert on warnings.
final class LogRecorder: Sendable {
    let lines = Mutex<[(Logger.Level, String)]>([])

    var logger: Logger {
        var logger = Logger(label: "avahi-test") { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    func warnings() -> [String] { lines.withLock { $0.filter { $0.0 == .warning }.map(\.1) } }
    func count(_ line: String) -> Int { lines.withLock { $0.filter { $0.1 == line }.count } }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .debug
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let text = event.message.description
            recorder.lines.withLock { $0.append((event.level, text)) }
            print("[\(event.level)] \(text)")
        }
    }
}
