import Foundation
import Testing
import TeamwireCore
@testable import WireGuardControl
import TestSupport

/// Real wireguard-go tunnels between network namespaces, configured only through the library.
@Suite(.serialized) struct UserspaceTunnelTests {
    /// Every host's peers are all the others.
    static func fullMesh(_ lab: NetnsLab, except: Set<Int> = []) -> [DeviceConfiguration] {
        lab.hosts.indices.map { i in
            DeviceConfiguration(peers: lab.hosts.indices.filter { $0 != i && !except.contains($0) }.map { lab.hosts[$0].peerConfig })
        }
    }

    @Test func threeHostsTalkAndWgShowAgrees() async throws {
        try await NetnsLab.with(hosts: 3) { lab in
            let mesh = Self.fullMesh(lab)
            for (h, want) in zip(lab.hosts, mesh) {
                let written = try h.device.reconcile(to: want)
                #expect(written.peers.count == 2 && written.peers.allSatisfy { !$0.updateOnly && !$0.remove })
            }
            for a in 0..<3 { for b in 0..<3 where a != b { #expect(try lab.ping(from: a, to: b), "ping \(a) -> \(b)") } }

            for (i, h) in lab.hosts.enumerated() {
                let state = try h.device.read()
                let dump = try lab.wgDump(i).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
                #expect(dump[0][0] == state.privateKey?.base64Key && dump[0][1] == h.key.publicKey.base64Key)
                #expect(dump[0][2] == "51820" && state.listenPort == 51820)
                #expect(dump.count - 1 == state.peers.count)
                for line in dump.dropFirst() {
                    let peer = try #require(state.peer(try PublicKey(base64Key: line[0])))
                    #expect(line[1] == "(none)" && peer.presharedKey.isNone)
                    #expect(line[2] == peer.endpoint?.description)
                    #expect(line[3] == peer.allowedIPs.map(\.description).joined(separator: ","))
                    #expect(Int64(line[4]) == peer.lastHandshake?.seconds && peer.lastHandshake != nil)
                    // Counters are read a moment apart, so wg's may only be ahead.
                    #expect(UInt64(line[5])! >= peer.rxBytes && peer.rxBytes > 0)
                    #expect(UInt64(line[6])! >= peer.txBytes && peer.txBytes > 0)
                    #expect(line[7] == "off" && peer.persistentKeepalive == 0)
                }
                // The same desired state again: nothing to write.
                #expect(try h.device.reconcile(to: mesh[i]).isEmpty)
            }
        }
    }

    @Test func peersChangeWhileTrafficFlowsAndUntouchedPeersKeepTheirSession() async throws {
        try await NetnsLab.with(hosts: 3) { lab in
            // 0 <-> 1 only, at first.
            let (h0, h1, h2) = (lab.hosts[0], lab.hosts[1], lab.hosts[2])
            try h0.device.reconcile(to: .init(peers: [h1.peerConfig]))
            try h1.device.reconcile(to: .init(peers: [h0.peerConfig]))
            try h2.device.reconcile(to: .init(peers: [h0.peerConfig]))
            #expect(try lab.ping(from: 0, to: 1))
            let session = try #require(try h0.device.read().peer(h1.key.publicKey)?.lastHandshake)

            // A steady stream 0 -> 1 while host 0's peer set changes underneath it.
            let stream = Process()
            stream.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            stream.arguments = ["ip", "netns", "exec", h0.ns, "ping", "-n", "-q", "-i", "0.2", "-c", "20", "-W", "1", "\(h1.overlay)"]
            let out = Pipe()
            stream.standardOutput = out
            try stream.run()

            // Add host 2.
            var added = try h0.device.reconcile(to: .init(peers: [h1.peerConfig, h2.peerConfig]))
            #expect(added.peers.map(\.publicKey) == [h2.key.publicKey])
            #expect(try lab.ping(from: 0, to: 2))

            // Change host 2's allowed IPs in place: it gains a second address.
            let extra = IPv4Address(0x6440_0063)  // 100.64.0.99
            try sh(["ip", "-n", h2.ns, "addr", "add", "\(extra)/32", "dev", h2.device.name])
            var wider = h2.peerConfig
            wider.allowedIPs.append(.host(extra))
            let changed = try h0.device.reconcile(to: .init(peers: [h1.peerConfig, wider]))
            #expect(changed.peers.count == 1 && changed.peers[0].updateOnly && changed.peers[0].replaceAllowedIPs)
            #expect(Set(try h0.device.read().peer(h2.key.publicKey)?.allowedIPs ?? []) == Set(wider.allowedIPs))
            #expect(try sh(["ip", "netns", "exec", h0.ns, "ping", "-n", "-q", "-c", "1", "-W", "2", "\(extra)"], check: false).status == 0)

            // Remove host 2.
            added = try h0.device.reconcile(to: .init(peers: [h1.peerConfig]))
            #expect(added.peers.map(\.remove) == [true])
            #expect(try h0.device.read().peer(h2.key.publicKey) == nil)
            #expect(try !lab.ping(from: 0, to: 2, wait: 1))

            stream.waitUntilExit()
            let summary = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(stream.terminationStatus == 0, "ping stream: \(summary)")
            #expect(summary.contains(" 0% packet loss"), "ping stream: \(summary)")
            // Host 1 was never touched: same session, counters kept growing.
            let after = try #require(try h0.device.read().peer(h1.key.publicKey))
            #expect(after.lastHandshake == session)
            #expect(after.txBytes > 20 * 84)
        }
    }

    @Test func failuresAreTypedAndSayWhatToDo() async throws {
        try await NetnsLab.with(hosts: 1) { lab in
            let h = lab.hosts[0]
            // wireguard-go missing.
            #expect(throws: WireGuardError.wireguardGoMissing("/nonexistent/wireguard-go")) {
                try WireGuardGo.start(interface: "twgmissing", executable: "/nonexistent/wireguard-go")
            }
            // No such interface.
            #expect(throws: WireGuardError.noSuchInterface("twgnothere0")) {
                try UserspaceBackend(interfaceName: "twgnothere0").read()
            }
            // A change the device refuses: a second device on the same listen port.
            let second = try WireGuardGo.start(interface: "twg\(lab.tag)x", prefix: ["ip", "netns", "exec", h.ns])
            defer { second.stop() }
            let dev2 = WireGuardDevice(backend: UserspaceBackend(interfaceName: "twg\(lab.tag)x"))
            do {
                try dev2.apply(DeviceUpdate(listenPort: 51820))
                Issue.record("binding a port in use should fail")
            } catch let e as WireGuardError {
                guard case .refused(operation: "set", let errno) = e, errno != 0 else { Issue.record("unexpected \(e)"); return }
                #expect(e.description.contains("refused set"))
            }
            // wireguard-go dying is noticed, and talking to it then says so.
            kill(second.pid, SIGKILL)
            for _ in 0..<200 where second.isRunning { usleep(10_000) }
            #expect(!second.isRunning)
            #expect(throws: WireGuardError.self) { try dev2.read() }
            // The first host is unaffected.
            #expect(try h.device.read().listenPort == 51820)
        }
    }
}

/// Backend choice on this host, which has no kernel WireGuard: automatic means wireguard-go,
/// and an interface it serves is adopted as userspace.
@Suite(.serialized) struct BackendChoiceTests {
    @Test func automaticFallsBackToWireGuardGoAndAdopts() async throws {
        #expect(!KernelBackend.isAvailable())
        #expect(WireGuardDevice.resolve(.automatic) == .userspace)
        #expect(WireGuardDevice.resolve(.kernel) == .kernel)
        #expect(throws: WireGuardError.noSuchInterface("twgabsent9")) { try WireGuardDevice.open("twgabsent9") }
        try await NetnsLab.with(hosts: 1) { lab in
            let name = lab.hosts[0].device.name
            let adopted = try WireGuardDevice.open(name)
            #expect(adopted.kind == .userspace)
            #expect(try adopted.read().publicKey == lab.hosts[0].key.publicKey)
            // create() on an existing interface adopts it and starts nothing.
            let (again, proc) = try WireGuardDevice.create(name)
            #expect(proc == nil && again.kind == .userspace)
            // Forcing the kernel here fails with what to do.
            #expect(throws: WireGuardError.self) { try WireGuardDevice.create("twgk\(lab.tag)", choice: .kernel) }
        }
    }
}
