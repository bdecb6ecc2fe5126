import Foundation
import RosBridge
import Testing
import TeamwireCore

/// The generated cyclonedds.xml against Debian's CycloneDDS 0.10 (`ddsperf`, package
/// cyclonedds-tools), in network namespaces. Needs root; never skipped.
@Suite("cyclonedds.xml with the real CycloneDDS", .serialized)
struct RealCycloneDDSTests {
    /// The lab's team as seen from member A or B.
    static func context(_ lab: OverlayLab, selfIsA: Bool, directory: URL, mtu: Int = 1420, team: String = "lab") -> RosContext {
        let a = member("robot-a", OverlayLab.addressA), b = member("robot-b", OverlayLab.addressB)
        let me = selfIsA ? a : b
        return RosContext(team: team, selfName: me.name, selfAddress: me.address, members: [b, a], rosMaster: nil,
                          rosDomainID: 0, interfaceName: lab.interface, mtu: mtu, directory: directory.path, participantsPerHost: 32)
    }

    /// ddsperf with a config file, plus CycloneDDS's own trace of the configuration it applied.
    static func ddsperf(_ lab: OverlayLab, in ns: String, config: URL, trace: Bool = false, _ args: [String]) -> Command {
        var uri = "file://" + config.path
        if trace { uri += ",<Tracing><Verbosity>config</Verbosity><OutputFile>stdout</OutputFile></Tracing>" }
        return lab.command(in: ns, ["ddsperf"] + args, environment: ["CYCLONEDDS_URI": uri])
    }

    @Test("ddsperf starts with the generated file and applies every setting in it")
    func accepted() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let config = try CycloneDDSConfig.render(Self.context(lab, selfIsA: true, directory: dir)).write(to: dir, name: "cyclonedds.xml")
                let r = try Self.ddsperf(lab, in: lab.nsA, config: config, trace: true, ["-D", "1", "pub"]).run()
                #expect(r.status == 0, "\(r.out)")
                // "{1}" marks a value that came from our file rather than a default.
                for applied in [
                    "config: Domain/General/Interfaces/NetworkInterface[@name]: tw-lab {1}",
                    "config: Domain/General/AllowMulticast/#text: false {1}",
                    "config: Domain/General/MaxMessageSize/#text: 1392 B {1}",
                    "config: Domain/General/MaxRexmitMessageSize/#text: 1392 B {1}",
                    "config: Domain/General/FragmentSize/#text: 1264 B {1}",
                    "config: Domain/Internal/SocketReceiveBufferSize[@max]: 4 MiB {1}",
                    "config: Domain/Discovery/ParticipantIndex/#text: auto {1}",
                    "config: Domain/Discovery/MaxAutoParticipantIndex/#text: 31 {1}",
                    "config: Domain/Discovery/Peers/Peer[@Address]: 100.64.0.2 {1}",
                    "config: Domain/Discovery/Peers/Peer[@Address]: 100.64.0.3 {1}",
                    "selected interfaces: tw-lab",
                    "add_peer_addresses: add udp/100.64.0.3:7410, :7412,",
                    ":7470\n",  // the 32nd participant index: 7410 + 2 * 31
                ] {
                    #expect(r.out.contains(applied), "missing \(applied)")
                }
                #expect(!r.out.contains(":7472"))
                // Configuration errors read "config: //CycloneDDS/...: <complaint>".
                #expect(!r.out.contains("config: //"), "\(r.out)")
            }
        }
    }

    @Test("a misspelt element or a bad value makes ddsperf fail: the check above can fail", arguments: [
        ("<AllowMulticast>false</AllowMulticast>", "<AllowMultycast>false</AllowMultycast>", "unknown element"),
        ("<MaxAutoParticipantIndex>31<", "<MaxAutoParticipantIndex>lots<", "not a decimal integer"),
        ("<Peer Address=", "<Peer Adress=", "unknown attribute"),
    ])
    func refused(good: String, bad: String, complaint: String) async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let text = CycloneDDSConfig.render(Self.context(lab, selfIsA: true, directory: dir))
                #expect(text.contains(good))
                let config = try text.replacing(good, with: bad).write(to: dir, name: "cyclonedds.xml")
                let r = try Self.ddsperf(lab, in: lab.nsA, config: config, ["-D", "1", "pub"]).run()
                #expect(r.status != 0, "\(r.out)")
                #expect(r.out.lowercased().contains(complaint), "\(r.out)")
            }
        }
    }

    /// sub on B, sub and pub on A, 20 kB samples (fragmented by RTPS) at 50 Hz. Each process
    /// fails unless it matched both others within 4 s.
    static func exchange(_ lab: OverlayLab, configA: URL, configB: URL) throws -> [(status: Int32, out: String)] {
        let match = ["-Qminmatch:2", "-Qmaxwait:4"]
        let subB = try ddsperf(lab, in: lab.nsB, config: configB, ["-D", "6"] + match + ["sub"]).start()
        let subA = try ddsperf(lab, in: lab.nsA, config: configA, ["-D", "6"] + match + ["sub"]).start()
        Thread.sleep(forTimeInterval: 0.5)
        let pub = try ddsperf(lab, in: lab.nsA, config: configA, ["-D", "5"] + match + ["pub", "50Hz", "size", "20k"]).run()
        return [pub, subA.wait(), subB.wait()]
    }

    /// The largest sample count a ddsperf sub reported ("size 20480 total 124 lost 0 ...").
    static func received(_ out: String) -> Int {
        out.split(separator: "\n").compactMap { line -> Int? in
            guard let r = line.range(of: "size 20480 total ") else { return nil }
            return Int(line[r.upperBound...].prefix { $0.isNumber })
        }.max() ?? 0
    }

    @Test("processes on one member and on another find each other through the Peers list, without IP fragments")
    func discovery() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                let a = try CycloneDDSConfig.render(Self.context(lab, selfIsA: true, directory: dir)).write(to: dir, name: "a.xml")
                let b = try CycloneDDSConfig.render(Self.context(lab, selfIsA: false, directory: dir)).write(to: dir, name: "b.xml")
                let before = try lab.ipCounters(lab.nsA)
                let results = try Self.exchange(lab, configA: a, configB: b)
                for (who, r) in zip(["pub on A", "sub on A", "sub on B"], results) {
                    #expect(r.status == 0, "\(who): \(r.out)")
                }
                #expect(Self.received(results[1].out) > 50, "\(results[1].out)")
                #expect(Self.received(results[2].out) > 50, "\(results[2].out)")
                let after = try lab.ipCounters(lab.nsA)
                #expect(after["FragCreates"] == before["FragCreates"], "the overlay MTU was exceeded")
                #expect((after["OutRequests"] ?? 0) - (before["OutRequests"] ?? 0) > 500, "little traffic went out: \(after)")
            }
        }
    }

    @Test("controls: without this node's own Peer its local processes miss each other; without Peers the other member is not found; with CycloneDDS's default sizes the IP layer fragments")
    func controls() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                func file(_ selfIsA: Bool, _ edit: (String) -> String, _ name: String) throws -> URL {
                    try edit(CycloneDDSConfig.render(Self.context(lab, selfIsA: selfIsA, directory: dir))).write(to: dir, name: name)
                }
                // (With no Peers at all CycloneDDS adds its own address; once others are listed it does not.)
                let noSelf: (String) -> String = { text in
                    lines(text).filter { !$0.contains("<Peer Address=\"\(OverlayLab.addressA)\"") }.joined(separator: "\n")
                }
                let withoutSelf = try Self.exchange(lab, configA: file(true, noSelf, "a.xml"), configB: file(false, { $0 }, "b.xml"))
                #expect(withoutSelf[0].status != 0 && withoutSelf[1].status != 0, "\(withoutSelf.map(\.out))")

                let noPeers: (String) -> String = { text in
                    lines(text).filter { !$0.contains("<Peer Address=") }.joined(separator: "\n")
                }
                let apart = try Self.exchange(lab, configA: file(true, noPeers, "a.xml"), configB: file(false, noPeers, "b.xml"))
                #expect(apart.allSatisfy { $0.status != 0 }, "\(apart.map(\.out))")

                let defaultSizes: (String) -> String = { text in
                    lines(text).filter { !$0.contains("MessageSize>") && !$0.contains("<FragmentSize>") }.joined(separator: "\n")
                }
                let before = try lab.ipCounters(lab.nsA)
                let results = try Self.exchange(lab, configA: file(true, defaultSizes, "a.xml"), configB: file(false, defaultSizes, "b.xml"))
                #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.out))")
                let after = try lab.ipCounters(lab.nsA)
                #expect((after["FragCreates"] ?? 0) > (before["FragCreates"] ?? 0))
            }
        }
    }

    @Test("a member running a dozen processes is found whole; CycloneDDS's default index range refuses the eleventh")
    func manyProcesses() async throws {
        try await OverlayLab.with { lab in
            try await withTemporaryDirectory { dir in
                func run(_ edit: (String) -> String) throws -> (pub: (status: Int32, out: String), subs: [(status: Int32, out: String)]) {
                    let a = try edit(CycloneDDSConfig.render(Self.context(lab, selfIsA: true, directory: dir))).write(to: dir, name: "a.xml")
                    let b = try edit(CycloneDDSConfig.render(Self.context(lab, selfIsA: false, directory: dir))).write(to: dir, name: "b.xml")
                    let subs = try (0..<12).map { _ in try Self.ddsperf(lab, in: lab.nsB, config: b, ["-D", "7", "sub"]).start() }
                    Thread.sleep(forTimeInterval: 1)
                    let pub = try Self.ddsperf(lab, in: lab.nsA, config: a, ["-D", "4", "-Qminmatch:12", "-Qmaxwait:3", "pub", "10Hz"]).run()
                    return (pub, subs.map { $0.wait() })
                }
                let ours = try run { $0 }
                #expect(ours.pub.status == 0, "\(ours.pub.out)")
                #expect(ours.subs.allSatisfy { $0.status == 0 }, "\(ours.subs.map(\.out))")

                let defaults = try run { lines($0).filter { !$0.contains("MaxAutoParticipantIndex>") }.joined(separator: "\n") }
                #expect(defaults.pub.status != 0)
                #expect(defaults.subs.contains { $0.out.contains("Failed to find a free participant index") })
            }
        }
    }
}
