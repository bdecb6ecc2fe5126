import Foundation
import Testing
import TeamwireCore
import WireGuardControl
#if canImport(Glibc)
import Glibc
import TestSupport
#endif

extension IntegrationTests {
    /// A coordinator restarted while its hub interface survived (a crash, a package upgrade)
    /// adopts it and says so; one with no interface left says it created one. The real
    /// `teamwire coordinator serve` in a namespace of the test's, with wireguard-go.
    @Suite("Hub adoption")
    struct HubAdoptionTests {
        @Test func theLogSaysWhetherTheHubInterfaceWasAdoptedOrCreated() async throws {
            let tag = String(getpid() % 10000) + String(Int.random(in: 0..<100))
            let ns = "tw\(tag)-adopt", ifname = "twa\(tag)"
            let state = makeTempDir()
            try sh(["ip", "netns", "add", ns])
            defer {
                // Anything left running in the namespace was started by this test: end it by its pid.
                let pids = (try? sh(["ip", "netns", "pids", ns], check: false).out) ?? ""
                for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) where pid != getpid() { kill(pid, SIGKILL) }
                _ = try? sh(["ip", "netns", "del", ns], check: false)
                try? FileManager.default.removeItem(atPath: state)
            }
            try sh(["ip", "-n", ns, "link", "set", "lo", "up"])

            // What an earlier run left: the interface, with one member as a peer.
            let leftover = try WireGuardGo.start(interface: ifname, prefix: ["ip", "netns", "exec", ns])
            defer { leftover.stop() }
            try WireGuardDevice(backend: UserspaceBackend(interfaceName: ifname)).apply(DeviceUpdate(
                privateKey: .generate(), listenPort: 51820,
                peers: [PeerUpdate(adding: PeerConfiguration(publicKey: PrivateKey.generate().publicKey, allowedIPs: [IPAddressRange("100.64.0.2/32")!]))]))

            func serveUntilTheHubIsUp() async throws -> [[String: Any]] {
                let c = try DaemonProcess.start(["ip", "netns", "exec", ns, teamwireBinary(), "coordinator", "serve", "--state", state,
                                                 "--listen", "127.0.0.1:0", "--public-endpoint", "192.0.2.1:7946", "--hub-interface", ifname,
                                                 "--hub-backend", "userspace", "--log-format", "json"])
                defer { c.stop() }
                try await eventually("the hub is up", timeout: .seconds(15)) { !c.isRunning || c.stderr.contains(#""message":"hub up""#) }
                let (status, log) = c.stop()
                #expect(status == 0, "\(log)")
                return try log.split(separator: "\n").map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)") }
            }
            func entry(_ message: String, in log: [[String: Any]]) -> [String: Any]? { log.first { $0["message"] as? String == message } }

            let first = try await serveUntilTheHubIsUp()
            let adopted = try #require(entry("adopted existing hub interface \(ifname)", in: first), "\(first)")
            #expect(adopted["level"] as? String == "info")
            #expect(adopted["metadata"] as? [String: String] == ["backend": "userspace", "peers": "1", "addresses": "0"], "\(adopted)")
            #expect(entry("created hub interface \(ifname)", in: first) == nil)

            // Stopping deleted the interface, so the next start makes a new one.
            let second = try await serveUntilTheHubIsUp()
            let created = try #require(entry("created hub interface \(ifname)", in: second), "\(second)")
            #expect(created["level"] as? String == "info" && created["metadata"] as? [String: String] == ["backend": "userspace"], "\(created)")
            #expect(entry("adopted existing hub interface \(ifname)", in: second) == nil)
        }
    }
}
