import Coordinator
import CoordinatorClient
import Foundation
import Testing
import TeamwireCore
import WireGuardControl
import TestSupport

/// A campus in network namespaces: a bridge (192.0.2.0/24), the coordinator's hub in its own
/// namespace (192.0.2.1, the in-process coordinator's hub thread enters it), and members, each
/// in a namespace with a wireguard-go interface whose only peer is the hub. Members route all of
/// 100.64.0.0/10 to the hub, more than their team: what keeps teams apart must be the hub.
/// Everything is removed on exit, failure included.
final class HubLab: @unchecked Sendable {
    struct Member {
        let ns: String
        let underlay: IPv4Address
        let key: PrivateKey
        let device: WireGuardDevice
        let process: WireGuardGo
        var overlay: IPv4Address
        var client: NodeClient
        var name: String
    }

    static let hubUnderlay = IPv4Address("192.0.2.1")!
    static let wireguardPort: UInt16 = 51820

    let tag = String(getpid() % 10000) + String(Int.random(in: 0..<100))
    private var namespaces: [String] = []
    private var processes: [WireGuardGo] = []
    private(set) var coordinator: TestCoordinator?
    private var nextHost = 0

    var hubNS: String { "tw\(tag)-hub" }
    var hubInterface: String { "twh\(tag)" }
    var tc: TestCoordinator { coordinator! }
    var hubDevice: WireGuardDevice { WireGuardDevice(backend: UserspaceBackend(interfaceName: hubInterface)) }

    static func with(_ body: (HubLab) async throws -> Void) async throws {
        let lab = HubLab()
        do {
            try await lab.build()
            try await body(lab)
        } catch {
            await lab.teardown()
            throw error
        }
        await lab.teardown()
    }

    private func build() async throws {
        try addNS("tw\(tag)-sw")
        try sh(["ip", "-n", "tw\(tag)-sw", "link", "add", "br0", "type", "bridge"])
        try sh(["ip", "-n", "tw\(tag)-sw", "link", "set", "br0", "up"])
        try plug(hubNS, Self.hubUnderlay)
        coordinator = try await TestCoordinator.start(hub: HubConfig(
            interfaceName: hubInterface, backend: .userspace, networkNamespace: "/var/run/netns/\(hubNS)",
            endpointScanInterval: .milliseconds(200)))
        try await eventually("the hub interface comes up") { (try? self.hubDevice.read()) != nil }
    }

    /// A namespace on the bridge with `address`/24 on its eth0.
    private func plug(_ ns: String, _ address: IPv4Address) throws {
        try addNS(ns)
        let port = "p\(tag)\(nextHost)"
        nextHost += 1
        try sh(["ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", "tw\(tag)-sw"])
        try sh(["ip", "-n", "tw\(tag)-sw", "link", "set", port, "master", "br0", "up"])
        try sh(["ip", "-n", ns, "addr", "add", "\(address)/24", "dev", "eth0"])
        try sh(["ip", "-n", ns, "link", "set", "eth0", "up"])
        try sh(["ip", "-n", ns, "link", "set", "lo", "up"])
    }

    private func addNS(_ ns: String) throws {
        try sh(["ip", "netns", "add", ns])
        namespaces.append(ns)
    }

    /// Enrols a member of `team` (through the real control API) and brings up its interface
    /// with the hub as its only peer. It reports a wrong endpoint (a "local address" the hub
    /// cannot reach), so the hub has to learn the real one from its packets.
    func addMember(team: String, name: String) async throws -> Member {
        let i = nextHost
        let ns = "tw\(tag)-m\(i)"
        let underlay = IPv4Address(0xC000_0200 + UInt32(10 + i))
        try plug(ns, underlay)
        let key = PrivateKey.generate()
        let token = try await tc.token(team)
        let client = NodeClient(token: token, privateKey: key)
        let reply = try await client.enroll(token: token, name: name, endpoints: [Endpoint("198.51.100.\(10 + i):51820")!])
        // Like an agent: the interface comes up after enrolment, by which time the hub has the
        // peer (otherwise the first handshake is dropped and retried only after 5 s).
        try await eventually("\(name) is a hub peer") { try self.hubPeers.contains(key.publicKey) }
        let ifname = "twm\(tag)\(i)"
        let process = try WireGuardGo.start(interface: ifname, prefix: ["ip", "netns", "exec", ns])
        processes.append(process)
        let device = WireGuardDevice(backend: UserspaceBackend(interfaceName: ifname))
        try device.apply(DeviceUpdate(privateKey: key, listenPort: Self.wireguardPort))
        try sh(["ip", "-n", ns, "addr", "add", "\(reply.node.address)/\(reply.map.team.prefix.length)", "dev", ifname])
        try sh(["ip", "-n", ns, "link", "set", ifname, "mtu", "1420", "up"])
        try sh(["ip", "-n", ns, "route", "add", "100.64.0.0/10", "dev", ifname])
        // The hub as the member's agent configures it (but over all of 100.64.0.0/10); set after
        // the link is up, so the first keepalive goes out at once.
        try device.apply(DeviceUpdate(peers: [PeerUpdate(adding: PeerConfiguration(
            publicKey: tc.publicKey, endpoint: Endpoint(host: .ipv4(Self.hubUnderlay), port: Self.wireguardPort),
            allowedIPs: [IPAddressRange("100.64.0.0/10")!], persistentKeepalive: 25))]))
        try await eventually("\(name) completes a handshake with the hub", timeout: .seconds(10)) {
            try self.hubDevice.read().peer(key.publicKey)?.lastHandshake != nil
        }
        return Member(ns: ns, underlay: underlay, key: key, device: device, process: process, overlay: reply.node.address, client: client, name: name)
    }

    /// Pings from a member's namespace until one reply arrives (one ping a second, for at most
    /// `deadline` seconds); true if answered.
    func ping(from m: Member, _ target: IPv4Address, deadline: Int = 5) throws -> Bool {
        try sh(["ip", "netns", "exec", m.ns, "ping", "-n", "-q", "-c", "1", "-w", "\(deadline)", "\(target)"], check: false).status == 0
    }

    /// One ping that must go unanswered: true if no reply came within a second (replies
    /// through the hub take milliseconds).
    func unreachable(from m: Member, _ target: IPv4Address) throws -> Bool {
        try unreachable([(m, target)])[0]
    }

    /// Several such pings at once (so a test waits one second, not one per ping).
    func unreachable(_ pairs: [(Member, IPv4Address)]) throws -> [Bool] {
        let procs = try pairs.map { m, target in
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["ip", "netns", "exec", m.ns, "ping", "-n", "-q", "-c", "1", "-W", "1", "\(target)"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        return procs.map { p in
            p.waitUntilExit()
            return p.terminationStatus != 0
        }
    }

    var hubPeers: Set<PublicKey> {
        get throws { Set(try hubDevice.read().peers.map(\.publicKey)) }
    }

    func teardown() async {
        if let c = coordinator { await c.stop() }
        coordinator = nil
        for p in processes { p.stop() }
        processes = []
        for ns in namespaces.reversed() {
            // Anything still running in a lab namespace was started by this lab (the hub's
            // wireguard-go if the coordinator did not stop cleanly): end it by its pid.
            let pids = (try? sh(["ip", "netns", "pids", ns], check: false).out) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) where pid != getpid() { kill(pid, SIGKILL) }
            _ = try? sh(["ip", "netns", "del", ns], check: false)
        }
        namespaces = []
    }
}

/// Waits until `condition` holds, checking every 10 ms; throws after `timeout`.
@discardableResult
func eventually(_ what: String, timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async throws -> Duration {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < timeout {
        if try await condition() { return ContinuousClock.now - start }
        try await Task.sleep(for: .milliseconds(10))
    }
    throw CoordinatorError("timed out after \(timeout): \(what)")
}

extension IntegrationTests {
    /// The coordinator's hub relay, with real wireguard-go tunnels between namespaces and real
    /// nftables rules (runs as root, as CI does).
    @Suite("Hub relay")
    struct HubTests {
        @Test func relaysWithinATeamLearnsEndpointsAndCutsOffRemovedMembers() async throws {
            try await HubLab.with { lab in
                let team = try await lab.tc.createTeam("iris", cidr: "100.64.10.0/24")
                let a = try await lab.addMember(team: "iris", name: "alpha")
                let b = try await lab.addMember(team: "iris", name: "bravo")
                // Enrolment reaches the hub at once: both are its peers, at their /32s.
                try await eventually("both members are hub peers") { try lab.hubPeers == [a.key.publicKey, b.key.publicKey] }
                let peerA = try #require(try lab.hubDevice.read().peer(a.key.publicKey))
                #expect(peerA.allowedIPs == [.host(a.overlay)] && peerA.persistentKeepalive == 0)
                #expect(team.hubAddress == IPv4Address("100.64.10.1")!)

                // Real traffic through the hub, both ways, and to the hub itself.
                #expect(try lab.ping(from: a, b.overlay), "alpha -> bravo through the hub")
                #expect(try lab.ping(from: b, a.overlay), "bravo -> alpha through the hub")
                #expect(try lab.ping(from: a, team.hubAddress), "alpha -> its hub")

                // The hub learnt where the members really are (not the address they reported)
                // and the registry publishes it as their observed endpoint, in the team map too.
                let realA = Endpoint(host: .ipv4(a.underlay), port: HubLab.wireguardPort)
                try await eventually("alpha's observed endpoint is learnt") {
                    try await lab.tc.admin.listNodes(team: "iris").first { $0.name == "alpha" }?.observedEndpoint == realA
                }
                let map = try await b.client.map(since: 0)
                #expect(map.members?.first { $0.name == "alpha" }?.observedEndpoint == realA)
                // A report does not overwrite what the hub saw with the request's source address.
                let reported = try await a.client.report(endpoints: [Endpoint("198.51.100.99:51820")!], listenPort: 51820)
                #expect(reported.observedEndpoint == realA)

                // Removal cuts bravo off from the hub within a second (in practice, milliseconds).
                _ = try await lab.tc.admin.removeNode(team: "iris", name: "bravo")
                let took = try await eventually("bravo leaves the hub", timeout: .seconds(1)) { try !lab.hubPeers.contains(b.key.publicKey) }
                #expect(took < .seconds(1))
                #expect(try lab.hubPeers == [a.key.publicKey])
                let cut = try lab.unreachable([(b, a.overlay), (b, team.hubAddress), (a, b.overlay)])
                #expect(cut[0], "removed bravo still reaches alpha")
                #expect(cut[1], "removed bravo still reaches the hub")
                #expect(cut[2], "alpha still reaches removed bravo")
                #expect(try lab.ping(from: a, team.hubAddress), "alpha lost its hub")

                // A graceful stop removes the interface and the rules.
                await lab.tc.stop()
                #expect(try sh(["ip", "-n", lab.hubNS, "link", "show", lab.hubInterface], check: false).status != 0)
                #expect(try !sh(["ip", "netns", "exec", lab.hubNS, "nft", "list", "tables"]).out.contains("teamwire_hub"))
            }
        }

        @Test func teamsCannotReachEachOtherThroughTheHub() async throws {
            try await HubLab.with { lab in
                let iris = try await lab.tc.createTeam("iris", cidr: "100.64.10.0/24")
                let lynx = try await lab.tc.createTeam("lynx", cidr: "100.64.20.0/24")
                let a = try await lab.addMember(team: "iris", name: "alpha")
                let c = try await lab.addMember(team: "lynx", name: "charlie")
                try await eventually("both members are hub peers") { try lab.hubPeers == [a.key.publicKey, c.key.publicKey] }
                // One address per team on the hub interface.
                let addrs = try sh(["ip", "-n", lab.hubNS, "-4", "-o", "addr", "show", "dev", lab.hubInterface]).out
                #expect(addrs.contains("100.64.10.1/24") && addrs.contains("100.64.20.1/24"), "\(addrs)")

                #expect(try lab.ping(from: c, lynx.hubAddress), "charlie -> its own hub")
                #expect(try lab.ping(from: a, iris.hubAddress), "alpha -> its own hub")
                // Both route all of 100.64.0.0/10 to the hub: only the hub's rules stop them.
                let apart = try lab.unreachable([(c, a.overlay), (a, c.overlay), (c, iris.hubAddress)])
                #expect(apart[0], "charlie (lynx) reached alpha (iris)")
                #expect(apart[1], "alpha (iris) reached charlie (lynx)")
                #expect(apart[2], "charlie (lynx) reached iris's hub address")

                // Without the hub's table the same ping goes through: the test would notice a
                // missing rule. The next change puts the table back.
                let table = "teamwire_hub_\(lab.hubInterface)"
                try sh(["ip", "netns", "exec", lab.hubNS, "nft", "delete", "table", "inet", table])
                #expect(try lab.ping(from: c, a.overlay), "the lab itself blocks charlie -> alpha")
                try await lab.tc.createTeam("puma", cidr: "100.64.30.0/24")
                try await eventually("the hub's rules are back") {
                    try sh(["ip", "netns", "exec", lab.hubNS, "nft", "list", "tables"]).out.contains(table)
                }
                #expect(try lab.unreachable(from: c, a.overlay), "charlie (lynx) reached alpha (iris) after the rules came back")

                // A member leaving by its own request is cut off as fast as a removal.
                try await c.client.leave()
                try await eventually("charlie leaves the hub", timeout: .seconds(1)) { try lab.hubPeers == [a.key.publicKey] }
                #expect(try lab.unreachable(from: c, lynx.hubAddress), "charlie still reaches its hub after leaving")
            }
        }
    }
}
