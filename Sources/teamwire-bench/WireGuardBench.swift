import ArgumentParser
import Foundation
import TeamwireCore
import WireGuardControl

/// WireGuardControl on the userspace backend against wireguard-tools on the same interface:
/// full apply vs `wg setconf`, read vs `wg showconf`, and the cost of one changed peer.
struct WireGuardBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wireguard",
        abstract: "Apply / reconcile / read N peers on a wireguard-go interface in a scratch network namespace, beside wg setconf/showconf. Needs root, wireguard-go and wg.")

    @Option(help: "Peer counts, comma-separated.") var peers: String = "10,1000,10000"
    @Option(name: .customLong("repeat"), help: "Repetitions per measurement (the median is reported).") var repetitions: Int = 5
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct Row: Codable {
        var peers: Int
        var applyMs: Double, setconfMs: Double
        var readMs: Double, showconfMs: Double
        var reconcileReadMs: Double, reconcileCachedMs: Double, updateOneMs: Double
    }

    func run() throws {
        let counts = peers.split(separator: ",").compactMap { Int($0) }
        let ns = "twbench\(getpid())"
        let ifname = "twb\(getpid() % 100000)"
        try run(["ip", "netns", "add", ns])
        defer { _ = try? run(["ip", "netns", "del", ns]) }
        let proc = try WireGuardGo.start(interface: ifname, prefix: ["ip", "netns", "exec", ns])
        defer { proc.stop() }
        let device = WireGuardDevice(backend: UserspaceBackend(interfaceName: ifname))
        let key = PrivateKey.generate()
        var rows: [Row] = []
        for n in counts {
            let config = Self.config(n, key: key)
            let confPath = "/tmp/\(ifname)-\(n).conf"
            try Self.wgConf(config).write(toFile: confPath, atomically: true, encoding: .utf8)
            defer { unlink(confPath) }
            let empty = DeviceConfiguration(interface: .init(privateKey: key, listenPort: 51820))

            func median(_ body: () throws -> Void, reset: () throws -> Void = {}) throws -> Double {
                var t: [Double] = []
                for _ in 0..<repetitions {
                    try reset()
                    let c = ContinuousClock.now
                    try body()
                    let d = ContinuousClock.now - c
                    t.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
                }
                return t.sorted()[t.count / 2]
            }
            let clear = { try device.replace(with: empty) }
            let apply = try median({ try device.replace(with: config) }, reset: clear)
            let setconf = try median({ try self.run(["wg", "setconf", ifname, confPath]) }, reset: clear)
            try device.replace(with: config)
            let read = try median { _ = try device.read() }
            let showconf = try median { try self.run(["wg", "showconf", ifname]) }
            guard try device.read().peers.count == n else { throw ValidationError("device has the wrong number of peers") }

            // One peer's endpoint changes, alternating so every run writes.
            var flip = false
            func changed() -> DeviceConfiguration {
                flip.toggle()
                var c = config
                c.peers[n / 2].endpoint = Endpoint(host: .ipv4(IPv4Address(0xC633_6400 + (flip ? 7 : 8))), port: 51820)
                return c
            }
            let reconcileRead = try median { guard try device.reconcile(to: changed()).peers.count == 1 else { throw ValidationError("expected one write") } }
            var reconciler = try Reconciler(device: device)
            let cached = try median { guard try reconciler.reconcile(to: changed()).peers.count == 1 else { throw ValidationError("expected one write") } }
            let one = try median {
                let c = changed()
                guard try reconciler.update(upserting: [c.peers[n / 2]]).peers.count == 1 else { throw ValidationError("expected one write") }
            }
            rows.append(Row(peers: n, applyMs: apply, setconfMs: setconf, readMs: read, showconfMs: showconf,
                            reconcileReadMs: reconcileRead, reconcileCachedMs: cached, updateOneMs: one))
        }
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try e.encode(rows), as: UTF8.self))
            return
        }
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        print("peers | apply ms | wg setconf ms | ratio | read ms | wg showconf ms | ratio | reconcile 1 change (read device) ms | reconcile 1 change (cached) ms | update 1 peer ms")
        for r in rows {
            let cells: [String] = [
                "\(r.peers)", f(r.applyMs), f(r.setconfMs), f(r.applyMs / r.setconfMs), f(r.readMs), f(r.showconfMs),
                f(r.readMs / r.showconfMs), f(r.reconcileReadMs), f(r.reconcileCachedMs), f(r.updateOneMs),
            ]
            print(cells.joined(separator: " | "))
        }
    }

    /// N peers with distinct keys, /32s in 100.64.0.0/10 and endpoints in 198.51.100.0/24.
    static func config(_ n: Int, key: PrivateKey) -> DeviceConfiguration {
        var peers: [PeerConfiguration] = []
        for i in 0..<n {
            let endpointHost = IPv4Address(0xC633_6400 + UInt32(i % 250 + 1))
            let port = UInt16(20000 + i % 40000)
            let overlay = IPv4Address(0x6440_0000 + UInt32(i + 2))
            peers.append(PeerConfiguration(publicKey: PrivateKey.generate().publicKey, endpoint: Endpoint(host: .ipv4(endpointHost), port: port),
                                           allowedIPs: [.host(overlay)], persistentKeepalive: 25))
        }
        return DeviceConfiguration(interface: .init(privateKey: key, listenPort: 51820), peers: peers)
    }

    /// The same configuration in wg(8) config syntax.
    static func wgConf(_ c: DeviceConfiguration) -> String {
        var s = "[Interface]\nPrivateKey = \(c.interface.privateKey!.base64Key)\nListenPort = \(c.interface.listenPort!)\n"
        for p in c.peers {
            s += "\n[Peer]\nPublicKey = \(p.publicKey.base64Key)\nAllowedIPs = \(p.allowedIPs.map(\.description).joined(separator: ", "))\n"
            if let e = p.endpoint { s += "Endpoint = \(e)\n" }
            if let k = p.persistentKeepalive { s += "PersistentKeepalive = \(k)\n" }
        }
        return s
    }

    @discardableResult
    func run(_ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.standardError
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("\(args.joined(separator: " ")) failed") }
        return String(decoding: data, as: UTF8.self)
    }
}
