import Foundation
import TeamwireCore
import WireGuardControl
import TestSupport

/// Network namespaces joined by a bridge (192.0.2.0/24 underlay), each with a wireguard-go
/// interface driven through the userspace backend. Everything is removed on exit, failure
/// included.
final class NetnsLab: @unchecked Sendable {
    struct Host {
        let ns: String
        let underlay: IPv4Address
        let overlay: IPv4Address
        let key: PrivateKey
        let device: WireGuardDevice
        let process: WireGuardGo
        var peerConfig: PeerConfiguration {
            PeerConfiguration(publicKey: key.publicKey, endpoint: Endpoint(host: .ipv4(underlay), port: 51820),
                              allowedIPs: [.host(overlay)])
        }
    }

    let tag: String
    var hosts: [Host] = []
    private var namespaces: [String] = []

    init() { tag = String(getpid() % 10000) + String(Int.random(in: 0..<100)) }

    var switchNS: String { "tw\(tag)-sw" }

    /// Builds `count` hosts with interfaces up and addressed, no peers yet.
    static func with<R>(hosts count: Int, _ body: (NetnsLab) async throws -> R) async throws -> R {
        let lab = NetnsLab()
        defer { lab.teardown() }
        try lab.build(count)
        return try await body(lab)
    }

    private func build(_ count: Int) throws {
        try addNS(switchNS)
        try sh(["ip", "-n", switchNS, "link", "add", "br0", "type", "bridge"])
        try sh(["ip", "-n", switchNS, "link", "set", "br0", "up"])
        for i in 0..<count {
            let ns = "tw\(tag)-h\(i)"
            try addNS(ns)
            try sh(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "p\(i)", "netns", switchNS])
            try sh(["ip", "-n", switchNS, "link", "set", "p\(i)", "master", "br0", "up"])
            let underlay = IPv4Address(0xC000_0200 + UInt32(10 + i))
            try sh(["ip", "-n", ns, "addr", "add", "\(underlay)/24", "dev", "eth0"])
            try sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
            try sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            let ifname = "twg\(tag)\(i)"
            let proc = try WireGuardGo.start(interface: ifname, prefix: ["ip", "netns", "exec", ns])
            let key = PrivateKey.generate()
            let device = WireGuardDevice(backend: UserspaceBackend(interfaceName: ifname))
            try device.apply(DeviceUpdate(privateKey: key, listenPort: 51820))
            let overlay = IPv4Address(0x6440_0000 + UInt32(1 + i))  // 100.64.0.x
            try sh(["ip", "-n", ns, "addr", "add", "\(overlay)/24", "dev", ifname])
            try sh(["ip", "-n", ns, "link", "set", ifname, "up"])
            hosts.append(Host(ns: ns, underlay: underlay, overlay: overlay, key: key, device: device, process: proc))
        }
    }

    private func addNS(_ ns: String) throws {
        try sh(["ip", "netns", "add", ns])
        namespaces.append(ns)
    }

    func teardown() {
        for h in hosts { h.process.stop() }
        for ns in namespaces.reversed() { _ = try? sh(["ip", "netns", "del", ns], check: false) }
        hosts = []
        namespaces = []
    }

    /// One ping over the overlay; true if it was answered.
    func ping(from a: Int, to b: Int, count: Int = 1, wait: Int = 2) throws -> Bool {
        try sh(["ip", "netns", "exec", hosts[a].ns, "ping", "-n", "-q", "-c", "\(count)", "-W", "\(wait)", "\(hosts[b].overlay)"], check: false).status == 0
    }

    /// `wg show IFACE dump`, the ground truth from wireguard-tools.
    func wgDump(_ i: Int) throws -> String {
        try sh(["wg", "show", hosts[i].device.name, "dump"]).out
    }
}
