import Foundation
import TestSupport

/// Runs programs for the tests against real DDS implementations. The library under test never
/// runs anything; only these tests do.
struct Command {
    var args: [String]
    var environment: [String: String] = [:]

    /// Started in the background with a plain PATH and `environment`.
    func start() throws -> ChildProcess {
        try ChildProcess.start(args, environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"].merging(environment) { $1 })
    }

    @discardableResult
    func run() throws -> (status: Int32, out: String) { try start().wait() }
}

/// Two network namespaces standing in for two members: a veth pair whose ends carry the team
/// interface's name, with multicast off like WireGuard and the overlay MTU, addressed in
/// 100.64.0.0/10. Only these namespaces and loopback ever see traffic. Removed on exit, failure
/// included.
final class OverlayLab: @unchecked Sendable {
    static let addressA = "100.64.0.2", addressB = "100.64.0.3"
    let nsA: String, nsB: String
    let interface: String

    private init(tag: String, interface: String) {
        nsA = "twr\(tag)a"
        nsB = "twr\(tag)b"
        self.interface = interface
    }

    static func with<R>(interface: String = "tw-lab", mtu: Int = 1420, _ body: (OverlayLab) async throws -> R) async throws -> R {
        let tag = String(getpid() % 100_000) + String(Int.random(in: 0..<1000))
        let lab = OverlayLab(tag: tag, interface: interface)
        defer { lab.teardown() }
        try lab.build(mtu: mtu)
        return try await body(lab)
    }

    private func build(mtu: Int) throws {
        for ns in [nsA, nsB] { try ip(["netns", "add", ns]) }
        try ip(["link", "add", interface, "netns", nsA, "type", "veth", "peer", "name", interface, "netns", nsB])
        for (ns, address) in [(nsA, Self.addressA), (nsB, Self.addressB)] {
            try ip(["-n", ns, "link", "set", interface, "mtu", String(mtu), "multicast", "off", "up"])
            try ip(["-n", ns, "addr", "add", "\(address)/10", "dev", interface])
            try ip(["-n", ns, "link", "set", "lo", "up"])
        }
    }

    private func ip(_ args: [String]) throws {
        let r = try Command(args: ["ip"] + args).run()
        if r.status != 0 { throw LabError("ip \(args.joined(separator: " ")) failed: \(r.out)") }
    }

    private func teardown() {
        for ns in [nsA, nsB] { _ = try? Command(args: ["ip", "netns", "del", ns]).run() }
    }

    /// A command inside a namespace. With `ownShm`, the command also gets its own /dev/shm, as
    /// a separate host would: otherwise Fast DDS's shared-memory transport connects processes
    /// of different namespaces and the test proves nothing about the network.
    func command(in ns: String, ownShm: Bool = false, _ args: [String], environment: [String: String] = [:]) -> Command {
        var inner = args
        if ownShm {
            inner = ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs tmpfs /dev/shm && exec \"$@\"", "sh"] + args
        }
        return Command(args: ["timeout", "60", "ip", "netns", "exec", ns] + inner, environment: environment)
    }

    /// IPv4 counters of a namespace from /proc/net/snmp (e.g. "FragCreates").
    func ipCounters(_ ns: String) throws -> [String: Int] {
        let r = try Command(args: ["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"]).run()
        let ipLines = r.out.split(separator: "\n").filter { $0.hasPrefix("Ip: ") }
        guard ipLines.count == 2 else { throw LabError("unexpected /proc/net/snmp: \(r.out)") }
        let names = ipLines[0].split(separator: " ").dropFirst(), values = ipLines[1].split(separator: " ").dropFirst()
        return Dictionary(zip(names.map(String.init), values.map { Int($0) ?? -1 }), uniquingKeysWith: { a, _ in a })
    }
}

/// A fresh temporary directory (its name has a space, as a user's path may), removed afterwards.
func withTemporaryDirectory<R>(_ body: (URL) async throws -> R) async throws -> R {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rosbridge test \(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    return try await body(dir)
}

extension String {
    func write(to dir: URL, name: String) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try write(to: url, atomically: true, encoding: .utf8)
        return url
    }
}
